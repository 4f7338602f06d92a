package cluster

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"testing"

	"github.com/dagr/dagr/internal/natstransport"
)

// The fuzz targets feed what another process sends to the decoders of
// this package: none may panic, and what they accept is well formed.

func FuzzParseJoin(f *testing.F) {
	good, _ := json.Marshal(Join{Run: "r1", Worker: 2, Procs: 1, Creds: natstransport.Credentials{URL: "nats://127.0.0.1:4222"}})
	for _, s := range []string{string(good), `{}`, `{"run":"r","worker":1}`, `{"run":"r","worker":3,"procs":-1,"nats":{"url":"u"}}`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		j, err := parseJoin(v)
		if err == nil && (j.Run == "" || j.Worker < 2 || j.Procs < 0 || j.Creds.URL == "") {
			t.Fatalf("parseJoin accepted %+v", j)
		}
	})
}

func FuzzParseJoinURL(f *testing.F) {
	good := joinURL("0123abcd", "secret", natstransport.Credentials{URL: "tls://10.0.0.1:4222,tls://10.0.0.2:4222", User: "u", Pass: "p@ss", Pin: "ab", CA: "/etc/ca.pem"})
	for _, s := range []string{good, good + "&procs=4", "nats://h:1/run", "tls://h:1/?key=k", "http://h/run?key=k", "nats://u:p@h:1/r.x?key=k", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		j, err := parseJoinURL(v)
		if err != nil {
			return
		}
		if j.Run == "" || j.Key == "" || j.Creds.URL == "" || j.Procs < 0 || !j.Remote {
			t.Fatalf("parseJoinURL accepted %+v", j)
		}
		// What it accepts, made into a join URL again, reads the same.
		again, err := parseJoinURL(joinURL(j.Run, j.Key, j.Creds))
		if err != nil {
			t.Fatalf("the join URL of %+v: %v", j, err)
		}
		again.Procs = j.Procs
		if again != j {
			t.Fatalf("parseJoinURL(joinURL(%+v)) = %+v", j, again)
		}
	})
}

// streamRequest is a stream request for key's bytes [off, off+n).
func streamRequest(token [sha256.Size]byte, key uint64, off, n int64) []byte {
	req := append(streamMagic[:], token[:]...)
	req = binary.BigEndian.AppendUint64(req, key)
	req = binary.BigEndian.AppendUint64(req, uint64(off))
	return binary.BigEndian.AppendUint64(req, uint64(n))
}

func FuzzStreamRequest(f *testing.F) {
	token := streamToken("secret")
	for _, r := range [][]byte{
		streamRequest(token, 1, 0, 64),
		streamRequest(token, 1, 60, 64),
		streamRequest(token, 2, 0, 1),
		streamRequest(token, 1, -1, 8),
		streamRequest(token, 1, 0, -8),
		streamRequest(streamToken("other"), 1, 0, 64),
		{'d', 'g'},
	} {
		f.Add(r)
	}
	value := make([]byte, 64)
	held := &mover{id: 2, held: map[uint64]heldValue{1: {data: encoding{value}, kept: true}}}
	f.Fuzz(func(t *testing.T, req []byte) {
		s := &streamer{token: token, span: held.span}
		here, there := net.Pipe()
		go func() {
			s.serve(there)
			there.Close()
		}()
		if len(req) > streamReqLen {
			req = req[:streamReqLen]
		}
		if _, err := here.Write(req); err != nil {
			t.Fatal(err)
		}
		if len(req) < streamReqLen {
			here.Close() // the server sees the request end early
			return
		}
		answer, err := io.ReadAll(here)
		here.Close()
		if err != nil {
			t.Fatal(err)
		}
		authentic := [4]byte(req[:4]) == streamMagic && [sha256.Size]byte(req[4:4+sha256.Size]) == token
		switch {
		case !authentic && len(answer) > 0:
			t.Fatalf("a request without the run's token got %d bytes", len(answer))
		case authentic && len(answer) == 0:
			t.Fatal("an authentic request got no answer")
		case authentic && answer[0] == streamOK:
			off := int64(binary.BigEndian.Uint64(req[4+sha256.Size+8:]))
			n := int64(binary.BigEndian.Uint64(req[4+sha256.Size+16:]))
			if want := min(n, int64(len(value))-off); int64(len(answer)-1) != want {
				t.Fatalf("asked for %d bytes from %d of 64, got %d", n, off, len(answer)-1)
			}
		}
	})
}
