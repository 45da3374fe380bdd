package repo

import (
	"fmt"
	"reflect"
	"time"
)

// setExpires records f as the model's expiry field.
func (m *model) setExpires(f field) error {
	if f.typ != timeType {
		return fmt.Errorf(`nodb:"expires" needs a time.Time field, not %s`, f.typ)
	}
	if m.expires != nil {
		return fmt.Errorf(`a second nodb:"expires" field (the first is %s)`, m.expires.name)
	}
	m.expires = &f
	return nil
}

// expiresAt returns v's expiry time, zero when the model has no expiry
// field or v's is zero (never expires).
func (m *model) expiresAt(v reflect.Value) time.Time {
	if m.expires == nil {
		return time.Time{}
	}
	return v.FieldByIndex(m.expires.index).Interface().(time.Time)
}
