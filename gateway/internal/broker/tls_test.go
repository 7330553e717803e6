package broker

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA makes a CA and a server certificate for 127.0.0.1 and localhost
// signed by it, writes the server's certificate and key as PEM files, and
// returns their paths and the pool that trusts the CA.
func testCA(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "civisens test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "gateway"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "gateway.crt"), filepath.Join(dir, "gateway.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(ca)
	return certFile, keyFile, roots
}

func TestTLSListener(t *testing.T) {
	cert, key, roots := testCA(t)
	b := start(t, Config{TLSAddr: "127.0.0.1:0", TLSCert: cert, TLSKey: key})
	if b.TLSAddr() == "" || b.TLSAddr() == b.Addr() {
		t.Fatalf("TLSAddr() = %q", b.TLSAddr())
	}
	got := b.reader(t)

	c, err := connectURL(t, "ssl://"+b.TLSAddr(), "tls-sensor", "air-hdv-01", "pw-air-hdv-01", &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("connect over TLS with the test CA: %v", err)
	}
	publish(t, c, "sensors/air-hdv-01/senml", `over tls`)
	expect(t, got, "sensors/air-hdv-01/senml over tls")

	// The same rules apply over TLS.
	if _, err := connectURL(t, "ssl://"+b.TLSAddr(), "tls-bad", "air-hdv-01", "wrong", &tls.Config{RootCAs: roots}); err == nil {
		t.Error("a wrong password was admitted over TLS")
	}
	// A client that does not trust the CA cannot connect.
	if _, err := connectURL(t, "ssl://"+b.TLSAddr(), "tls-untrusting", "air-hdv-01", "pw-air-hdv-01", &tls.Config{}); err == nil {
		t.Error("a client without the CA connected")
	}
	// Plain MQTT on the TLS port is refused.
	if _, err := connect(t, b.TLSAddr(), "plain-on-tls", "air-hdv-01", "pw-air-hdv-01"); err == nil {
		t.Error("plain MQTT was admitted on the TLS listener")
	}
}

func TestTLSBadFiles(t *testing.T) {
	cert, _, _ := testCA(t)
	p, _ := newTestPolicy(t, nil)
	_, err := Start(Config{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0", TLSCert: cert, TLSKey: filepath.Join(t.TempDir(), "missing.key"), Access: p}, p.log, nil)
	if err == nil || !strings.Contains(err.Error(), "TLS certificate") {
		t.Errorf("Start with a missing key = %v", err)
	}
}
