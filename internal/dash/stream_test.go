package dash_test

import (
	"bufio"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dagr/dagr/internal/dash"
)

func TestDashboardFrame(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		want string
	}{
		{"json", `{"a":1}`, "id: 7\nevent: stats\ndata: {\"a\":1}\n\n"},
		{"lines", "a\nb", "id: 7\nevent: stats\ndata: a\ndata: b\n\n"},
		{"crlf", "a\r\nb\r\n", "id: 7\nevent: stats\ndata: a\ndata: b\n\n"},
		{"empty", "", "id: 7\nevent: stats\ndata: \n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(dash.Frame("stats", 7, []byte(tc.data))); got != tc.want {
				t.Errorf("frame of %q = %q, want %q", tc.data, got, tc.want)
			}
		})
	}
}

// TestDashboardFrameParses: what frame writes, an event-stream reader
// reads back: the data, the event's name and its id.
func TestDashboardFrameParses(t *testing.T) {
	data := "{\"x\": \"one\"}\nsecond line\n\nafter a blank line"
	r := bufio.NewReader(strings.NewReader(string(dash.Frame("tasks", 42, []byte(data)))))
	ev, err := readEvent(r)
	if err != nil {
		t.Fatal(err)
	}
	// A blank line inside the data would end the frame early: frame
	// writes it as an empty data field instead.
	if ev.event != "tasks" || ev.id != "42" || ev.data != data {
		t.Fatalf("read back %+v, want event tasks, id 42, data %q", ev, data)
	}
}

// TestDashboardSlowClientGetsLatest: a client that has not written its
// frames yet keeps the latest of each kind, stats before tasks.
func TestDashboardSlowClientGetsLatest(t *testing.T) {
	got := dash.TakeAfter(
		[2][]byte{[]byte("s1"), []byte("t1")},
		[2][]byte{[]byte("s2"), nil},
		[2][]byte{[]byte("s3"), nil},
	)
	want := []string{"s3", "t1"}
	if !slices.EqualFunc(got, want, func(b []byte, s string) bool { return string(b) == s }) {
		t.Fatalf("took %q, want %q", got, want)
	}
	if got := dash.TakeAfter(); len(got) != 0 {
		t.Fatalf("a client offered nothing took %q", got)
	}
}

// sseEvent is one event of a text/event-stream.
type sseEvent struct {
	id, event, data, retry string
}

// readEvent reads the next event of r: fields up to an empty line, the
// data lines joined with newlines, as a browser's EventSource does.
func readEvent(r *bufio.Reader) (sseEvent, error) {
	var ev sseEvent
	var data []string
	seen := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return ev, fmt.Errorf("reading an event: %w (after %q)", err, line)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			if !seen {
				continue
			}
			ev.data = strings.Join(data, "\n")
			return ev, nil
		}
		seen = true
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			ev.id = value
		case "event":
			ev.event = value
		case "data":
			data = append(data, value)
		case "retry":
			ev.retry = value
		case "":
			// a comment
		default:
			return ev, errors.New("unknown field in line " + line)
		}
	}
}
