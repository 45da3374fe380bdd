package tracker

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nodb-go/nodb/repo/meter"
)

// BenchmarkAnnounce measures regular announces (no event) over HTTP by the
// peers of a swarm of 50, one at a time, on a directory and on versitygw,
// and reports announces per second and S3 requests per announce:
//
//	cd examples/tracker && go test ./tracker -run '^$' -bench Announce -benchtime 2s
func BenchmarkAnnounce(b *testing.B) {
	for _, st := range stores {
		for _, numwant := range []int{50, 0} {
			b.Run(fmt.Sprintf("%s/numwant=%d", st.name, numwant), func(b *testing.B) {
				ms := meter.Wrap(st.open(b))
				_, base := serve(b, ms, func(o *Options) { o.Interval = 10 * time.Minute })
				ih := hash("bench")
				const swarm = 50
				urls := make([]string, swarm)
				for i := range swarm {
					p := peer{fmt.Sprintf("-BE0001-%012d", i), 7000 + i, int64(i % 2)}
					var r announceResp
					get(b, announceURL(base, ih, p, "&event=started"), &r)
					urls[i] = announceURL(base, ih, p, fmt.Sprintf("&numwant=%d", numwant))
				}
				ms.Reset()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					resp, err := http.Get(urls[i%swarm])
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				b.StopTimer()
				c := ms.Snapshot()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "announces/s")
				b.ReportMetric(float64(c.Total())/float64(b.N), "requests/announce")
				b.ReportMetric(float64(c.Get)/float64(b.N), "GETs/announce")
				b.ReportMetric(float64(c.List)/float64(b.N), "LISTs/announce")
				b.ReportMetric(float64(c.Put)/float64(b.N), "PUTs/announce")
			})
		}
	}
}
