package tag

import "testing"

func TestParse(t *testing.T) {
	good := map[string]Tag{
		"":                      {},
		"-":                     {Skip: true},
		"key":                   {Key: true},
		"index":                 {Index: true},
		"unique":                {Index: true, Unique: true},
		"index,omitempty":       {Index: true, OmitEmpty: true},
		"unique,omitempty":      {Index: true, Unique: true, OmitEmpty: true},
		"index,async":           {Index: true, Async: true},
		"index,omitempty,async": {Index: true, OmitEmpty: true, Async: true},
		"index,desc":            {Index: true, Desc: true},
		"unique,desc,omitempty": {Index: true, Unique: true, Desc: true, OmitEmpty: true},
		"expires":               {Expires: true},
	}
	for in, want := range good {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"keys", ",index", "key,omitempty", "index,sparse", "index,", "Index", "unique,async", "key,async", "async", "key,desc", "expires,desc", "expires,omitempty"} {
		if _, err := Parse(in); err == nil {
			t.Errorf("Parse(%q): no error", in)
		}
	}
}
