// Command loadclient drives HTTP/2 cleartext (h2c) load for the peer
// benchmark (bench/peers): gRPC Check calls with a different pre-encoded
// request body per call (h2load sends one body file for every request), or
// plain GETs through Envoy with a different bearer token per request.
//
// Closed loop (-rate 0): -c requests in flight over -conns connections.
// Open loop (-rate N): N requests per second on a fixed schedule; latency is
// measured from the scheduled start, so a stall is not hidden by the client
// waiting (no coordinated omission).
//
// Input (-requests): a file of records, each a 4-byte big-endian length and
// that many bytes: a gRPC-framed CheckRequest (-mode grpc) or a token (-mode
// http). Records are used round robin. Output: one JSON line on stdout.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

type result struct {
	Calls       int     `json:"calls"`
	CallsPerSec float64 `json:"callsPerSec"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	MeanMs      float64 `json:"meanMs"`
	Allowed     int64   `json:"allowed"`
	Denied      int64   `json:"denied"`
	Errors      int64   `json:"errors"`
	Late        int64   `json:"late"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "host:port (h2c)")
	mode := flag.String("mode", "grpc", "grpc: POST Check bodies; http: GET -path with bearer tokens")
	path := flag.String("path", "/envoy.service.auth.v3.Authorization/Check", "request path")
	file := flag.String("requests", "", "records file (4-byte length + bytes)")
	conc := flag.Int("c", 8, "requests in flight (closed loop) / max in flight (open loop)")
	conns := flag.Int("conns", 1, "HTTP/2 connections")
	dur := flag.Duration("d", 5*time.Second, "measured duration")
	warm := flag.Duration("warmup", 1*time.Second, "unmeasured warm-up before -d")
	rate := flag.Float64("rate", 0, "requests per second (open loop); 0 = closed loop")
	flag.Parse()

	records, err := readRecords(*file)
	if err != nil || len(records) == 0 {
		fmt.Fprintf(os.Stderr, "loadclient: cannot read records from %q: %v\n", *file, err)
		os.Exit(2)
	}
	clients := make([]*http.Client, *conns)
	for i := range clients {
		clients[i] = &http.Client{Transport: &http2.Transport{
			AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, a string, _ *tls.Config) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, a)
			},
			StrictMaxConcurrentStreams: true,
		}}
	}
	url := "http://" + *addr + *path

	var next atomic.Uint64
	var allowed, denied, errs, late atomic.Int64
	start := time.Now()
	measureFrom := start.Add(*warm)
	end := measureFrom.Add(*dur)
	var mu sync.Mutex
	var lat []int64 // microseconds, measured window only

	one := func(c *http.Client, scheduled time.Time) {
		rec := records[next.Add(1)%uint64(len(records))]
		ok, err := call(c, *mode, url, rec)
		took := time.Since(scheduled)
		switch {
		case err != nil:
			errs.Add(1)
		case ok:
			allowed.Add(1)
		default:
			denied.Add(1)
		}
		if !scheduled.Before(measureFrom) && scheduled.Before(end) && err == nil {
			mu.Lock()
			lat = append(lat, took.Microseconds())
			mu.Unlock()
		}
	}

	var wg sync.WaitGroup
	if *rate <= 0 {
		for w := 0; w < *conc; w++ {
			wg.Add(1)
			go func(c *http.Client) {
				defer wg.Done()
				for {
					t := time.Now()
					if !t.Before(end) {
						return
					}
					one(c, t)
				}
			}(clients[w%len(clients)])
		}
		wg.Wait()
	} else {
		interval := time.Duration(float64(time.Second) / *rate)
		sem := make(chan struct{}, *conc)
		for i := 0; ; i++ {
			at := start.Add(time.Duration(i) * interval)
			if !at.Before(end) {
				break
			}
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			}
			select {
			case sem <- struct{}{}:
			default:
				// More than -c outstanding: the server is not keeping up. Still send
				// (blocking), and count it, so the schedule's debt shows in latency.
				late.Add(1)
				sem <- struct{}{}
			}
			wg.Add(1)
			go func(c *http.Client, at time.Time) {
				defer wg.Done()
				one(c, at)
				<-sem
			}(clients[i%len(clients)], at)
		}
		wg.Wait()
	}

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	var sum int64
	for _, v := range lat {
		sum += v
	}
	r := result{
		Calls:       len(lat),
		CallsPerSec: float64(len(lat)) / dur.Seconds(),
		P50Ms:       pct(lat, 0.5),
		P99Ms:       pct(lat, 0.99),
		Allowed:     allowed.Load(),
		Denied:      denied.Load(),
		Errors:      errs.Load(),
		Late:        late.Load(),
	}
	if len(lat) > 0 {
		r.MeanMs = float64(sum) / float64(len(lat)) / 1000
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

// call sends one request; ok is the decision (gRPC: CheckResponse status
// code 0; HTTP: status 200).
func call(c *http.Client, mode, url string, rec []byte) (bool, error) {
	var req *http.Request
	var err error
	if mode == "grpc" {
		req, err = http.NewRequest(http.MethodPost, url, bytes.NewReader(rec))
		if err != nil {
			return false, err
		}
		req.Header.Set("content-type", "application/grpc")
		req.Header.Set("te", "trailers")
	} else {
		req, err = http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return false, err
		}
		req.Header.Set("authorization", "Bearer "+string(rec))
	}
	res, err := c.Do(req)
	if err != nil {
		return false, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return false, err
	}
	if mode != "grpc" {
		return res.StatusCode == http.StatusOK, nil
	}
	if st := res.Trailer.Get("grpc-status"); st != "0" && res.Header.Get("grpc-status") != "0" {
		return false, fmt.Errorf("grpc-status %q", st)
	}
	if len(body) < 5 {
		return false, fmt.Errorf("short gRPC response")
	}
	return checkAllowed(body[5:])
}

// checkAllowed reads CheckResponse.status.code (field 1, then field 1):
// absent or 0 is an allow.
func checkAllowed(msg []byte) (bool, error) {
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return false, fmt.Errorf("bad varint")
		}
		msg = msg[n:]
		field, wire := key>>3, key&7
		switch wire {
		case 0:
			_, n = binary.Uvarint(msg)
			if n <= 0 {
				return false, fmt.Errorf("bad varint")
			}
			msg = msg[n:]
		case 2:
			l, n := binary.Uvarint(msg)
			if n <= 0 || uint64(len(msg)-n) < l {
				return false, fmt.Errorf("bad length")
			}
			sub := msg[n : n+int(l)]
			msg = msg[n+int(l):]
			if field == 1 {
				code, err := statusCode(sub)
				return code == 0, err
			}
		case 1:
			msg = msg[8:]
		case 5:
			msg = msg[4:]
		default:
			return false, fmt.Errorf("wire type %d", wire)
		}
	}
	return true, nil
}

func statusCode(msg []byte) (uint64, error) {
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 {
			return 0, fmt.Errorf("bad varint")
		}
		msg = msg[n:]
		if key == 1<<3 {
			v, n := binary.Uvarint(msg)
			if n <= 0 {
				return 0, fmt.Errorf("bad varint")
			}
			return v, nil
		}
		if key&7 != 2 {
			return 0, fmt.Errorf("unexpected field in Status")
		}
		l, n := binary.Uvarint(msg)
		if n <= 0 || uint64(len(msg)-n) < l {
			return 0, fmt.Errorf("bad length")
		}
		msg = msg[n+int(l):]
	}
	return 0, nil
}

func pct(sorted []int64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(float64(len(sorted))*q+0.999999) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(sorted) {
		rank = len(sorted) - 1
	}
	return float64(sorted[rank]) / 1000
}

func readRecords(name string) ([][]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for len(data) >= 4 {
		n := binary.BigEndian.Uint32(data)
		if uint32(len(data)-4) < n {
			return nil, fmt.Errorf("truncated record")
		}
		out = append(out, data[4:4+n])
		data = data[4+n:]
	}
	return out, nil
}
