package natstransport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// serverCert loads the certificate in certFile and keyFile, or, when both
// are empty, makes a self-signed one; it returns the hex SHA-256 of the
// certificate, which a client pins instead of verifying a chain.
func serverCert(certFile, keyFile string) (tls.Certificate, string, error) {
	var (
		cert tls.Certificate
		err  error
	)
	switch {
	case certFile != "" && keyFile != "":
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return cert, "", fmt.Errorf("dagr: the server's certificate: %w", err)
		}
	case certFile != "" || keyFile != "":
		return cert, "", errors.New("dagr: a server certificate needs both its certificate file and its key file")
	default:
		if cert, err = selfSigned(); err != nil {
			return cert, "", fmt.Errorf("dagr: making the server's certificate: %w", err)
		}
	}
	return cert, fingerprint(cert.Certificate[0]), nil
}

// selfSigned makes a certificate for the run's server, valid for a year.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "dagr run"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// pinned returns a client TLS configuration that accepts only a server
// whose certificate has the fingerprint pin.
func pinned(pin string) (*tls.Config, error) {
	want, err := hex.DecodeString(pin)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("dagr: %q is not the hex SHA-256 fingerprint of a certificate", pin)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is not verified: the certificate itself is pinned.
		InsecureSkipVerify: true, //nolint:gosec // checked in VerifyConnection
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("dagr: the server sent no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(got[:], want) != 1 {
				return fmt.Errorf("dagr: the server's certificate has fingerprint %x, not the run's %s", got, pin)
			}
			return nil
		},
	}, nil
}
