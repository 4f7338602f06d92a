package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// proof proves that a message's sender has the run's secret key (see
// Join.Key), which only the join URL and worker 1's own workers carry: a
// client that may use the run's NATS server but was not given the URL
// (another run's, on a shared cluster) can neither join the run nor
// speak for its workers.
func proof(key string, parts ...string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

// proven reports whether p is the proof of parts under key.
func proven(key, p string, parts ...string) bool {
	return hmac.Equal([]byte(p), []byte(proof(key, parts...)))
}
