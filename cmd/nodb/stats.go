package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/nodb-go/nodb/repo/object"
)

// S3 Standard list prices, us-east-1, as of November 2026 (first 50 TB of
// storage; requests per 1,000). DELETE is free.
const (
	pricesDate     = "2026-11"
	priceGBMonth   = 0.023
	pricePer1kPut  = 0.005  // PUT, COPY, POST, LIST
	pricePer1kGet  = 0.0004 // GET, HEAD
	bytesPerGB     = 1 << 30
	statsHelpPrice = `Prices: Amazon S3 Standard, us-east-1 list prices as of ` + pricesDate + `:
storage $0.023 per GB-month (first 50 TB), PUT/COPY/POST/LIST $0.005 per
1,000 requests, GET/HEAD $0.0004 per 1,000 requests, DELETE free. Data
transfer out of AWS is not included. Other regions and classes differ.`
)

func init() {
	var gets, puts, lists float64
	register(&command{
		name: "stats", args: "[MODEL]", short: "objects, bytes and monthly cost per model and index", min: 0, max: 1,
		long: `Counts the objects and bytes of each model (or of MODEL): records, manifest,
and per index its entries and unique claims, from LIST requests alone. Then
it prices the stored bytes per month, and the request mix given by --gets,
--puts and --lists (requests per month), at S3 Standard list prices.

` + statsHelpPrice + `

Examples:
  nodb stats
  nodb stats User --gets 3000000 --puts 200000 --lists 50000
  nodb stats --json`,
		flags: func(fs *flag.FlagSet) {
			fs.Float64Var(&gets, "gets", 0, "GET requests per month to price")
			fs.Float64Var(&puts, "puts", 0, "PUT requests per month to price")
			fs.Float64Var(&lists, "lists", 0, "LIST requests per month to price")
		},
		run: func(e *env, args []string) error { return runStats(e, args, gets, puts, lists) },
	})
}

type part struct {
	Model   string `json:"model"`
	Part    string `json:"part"`
	Objects int64  `json:"objects"`
	Bytes   int64  `json:"bytes"`
}

func runStats(e *env, args []string, gets, puts, lists float64) error {
	if gets < 0 || puts < 0 || lists < 0 {
		return usagef("request counts must not be negative")
	}
	st, err := e.openStore(e.store)
	if err != nil {
		return err
	}
	defer closeStore(st)
	var names []string
	if len(args) == 1 {
		if _, err := openModel(e, st, args[0]); err != nil {
			return err
		}
		names = args
	} else {
		all, err := models(e, st)
		if err != nil {
			return err
		}
		for _, m := range all {
			names = append(names, m.Name)
		}
	}
	var parts []part
	var totalObjects, totalBytes int64
	for _, name := range names {
		byPart := map[string]*part{}
		prefix := e.base() + name + "/"
		after := ""
		for {
			page, err := st.List(e.ctx, object.ListOptions{Prefix: prefix, StartAfter: after})
			if err != nil {
				return err
			}
			for _, o := range page.Objects {
				p := partOf(o.Key[len(prefix):])
				if byPart[p] == nil {
					byPart[p] = &part{Model: name, Part: p}
				}
				byPart[p].Objects++
				byPart[p].Bytes += o.Size
				totalObjects++
				totalBytes += o.Size
			}
			if !page.More || len(page.Objects) == 0 {
				break
			}
			after = page.Objects[len(page.Objects)-1].Key
		}
		keys := make([]string, 0, len(byPart))
		for k := range byPart {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, *byPart[k])
		}
	}
	storage := float64(totalBytes) / bytesPerGB * priceGBMonth
	requests := puts/1000*pricePer1kPut + lists/1000*pricePer1kPut + gets/1000*pricePer1kGet
	if e.json {
		for _, p := range parts {
			writeJSON(e.stdout, p)
		}
		return writeJSON(e.stdout, map[string]any{
			"objects": totalObjects, "bytes": totalBytes,
			"storagePerMonth": storage, "requestsPerMonth": requests, "totalPerMonth": storage + requests,
			"prices": map[string]any{"date": pricesDate, "region": "us-east-1", "class": "STANDARD",
				"gbMonth": priceGBMonth, "per1000Put": pricePer1kPut, "per1000List": pricePer1kPut, "per1000Get": pricePer1kGet},
		})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tPART\tOBJECTS\tBYTES\t")
	for _, p := range parts {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\n", p.Model, p.Part, p.Objects, p.Bytes)
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t\n", totalObjects, totalBytes)
	tw.Flush()
	fmt.Fprintf(e.stdout, "storage: $%.6f per month\n", storage)
	fmt.Fprintf(e.stdout, "requests (%.0f GET, %.0f PUT, %.0f LIST per month): $%.6f per month\n", gets, puts, lists, requests)
	fmt.Fprintf(e.stdout, "total: $%.6f per month (S3 Standard, us-east-1, list prices of %s)\n", storage+requests, pricesDate)
	return nil
}

// partOf names the part of a model an object belongs to, from its name
// after "<model>/".
func partOf(rest string) string {
	switch {
	case rest == "_manifest":
		return "manifest"
	case strings.HasPrefix(rest, "r/"):
		return "records"
	case strings.HasPrefix(rest, "i/"):
		ix, _, _ := strings.Cut(rest[2:], "/")
		return "index " + ix + " entries"
	case strings.HasPrefix(rest, "u/"):
		ix, _, _ := strings.Cut(rest[2:], "/")
		return "index " + ix + " claims"
	}
	head, _, _ := strings.Cut(rest, "/")
	return "other " + head
}
