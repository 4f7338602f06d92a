package dagr_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/dagr/dagr"
)

// The test of many machines builds them on this one: three network
// namespaces (hosts) on a bridge, each with a NATS server of one cluster,
// connected by routes. natsNodeEnv makes the test binary such a server.

const (
	natsNodeEnv = "DAGR_TEST_NATS_NODE" // a natsNode in JSON: the process serves it, until killed
	hostsEnv    = "DAGR_TEST_HOSTS"     // a hosts in JSON, for the processes of the test
	hostsNet    = "10.231.77."          // the hosts' addresses are this and 1, 2, 3
)

// natsNode is one server of the hosts' NATS cluster.
type natsNode struct {
	Host       string
	User, Pass string
	Cert, Key  string
	Routes     []string
}

// serveNATSNode serves a natsNode in JSON until the process is killed; it
// writes "ready" to standard output once it accepts clients.
func serveNATSNode(cfg string) int {
	var n natsNode
	if err := json.Unmarshal([]byte(cfg), &n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	tlsCfg, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: n.Cert, KeyFile: n.Key})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	opts := &server.Options{
		ServerName: "node-" + n.Host,
		Host:       n.Host,
		Port:       4222,
		Username:   n.User,
		Password:   n.Pass,
		TLS:        true,
		TLSConfig:  tlsCfg,
		TLSTimeout: 5,
		MaxPayload: 64 << 20,
		MaxPending: 256 << 20,
		NoSigs:     true,
		Cluster:    server.ClusterOpts{Name: "dagr-hosts", Host: n.Host, Port: 6222},
	}
	for _, r := range n.Routes {
		u, err := url.Parse(r)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts.Routes = append(opts.Routes, u)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		fmt.Fprintln(os.Stderr, "the NATS node did not start")
		return 2
	}
	fmt.Println("ready")
	select {}
}

// hosts is the setting of the test of many machines.
type hosts struct {
	NS   [3]string // the hosts' network namespaces
	Dev  [3]string // each host's network device
	User string    // the NATS cluster's user and password
	Pass string
	CA   string // the CA that signed the servers' certificate
	Log  string // a file where tasks write where they ran
}

func (h hosts) ip(i int) string { return fmt.Sprintf("%s%d", hostsNet, i+1) }

// buildHosts makes the hosts and their NATS cluster, and removes them when
// the test ends.
func buildHosts(t *testing.T) hosts {
	t.Helper()
	id := fmt.Sprintf("%04x", os.Getpid()&0xffff)
	bridge := "dg" + id + "br"
	var h hosts
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() {
		for _, ns := range h.NS {
			if ns == "" {
				continue
			}
			if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
				for _, pid := range strings.Fields(string(out)) {
					_ = exec.Command("kill", "-9", pid).Run()
				}
			}
			_ = exec.Command("ip", "netns", "del", ns).Run()
		}
		// A namespace goes once nothing holds it, maybe later: its links'
		// ends on this side go now.
		for i := range h.NS {
			_ = exec.Command("ip", "link", "del", fmt.Sprintf("dg%sb%d", id, i+1)).Run()
		}
		_ = exec.Command("ip", "link", "del", bridge).Run()
	})
	run("ip", "link", "add", bridge, "type", "bridge")
	run("ip", "link", "set", bridge, "up")
	for i := range h.NS {
		ns, dev, peer := fmt.Sprintf("dagr%sh%d", id, i+1), fmt.Sprintf("dg%sv%d", id, i+1), fmt.Sprintf("dg%sb%d", id, i+1)
		h.NS[i], h.Dev[i] = ns, dev
		run("ip", "netns", "add", ns)
		run("ip", "link", "add", dev, "type", "veth", "peer", "name", peer)
		run("ip", "link", "set", dev, "netns", ns)
		run("ip", "link", "set", peer, "master", bridge)
		run("ip", "link", "set", peer, "up")
		run("ip", "-n", ns, "addr", "add", h.ip(i)+"/24", "dev", dev)
		run("ip", "-n", ns, "link", "set", dev, "up")
		run("ip", "-n", ns, "link", "set", "lo", "up")
	}

	dir := t.TempDir()
	h.CA, h.Log = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "runs")
	cert, key := filepath.Join(dir, "node.pem"), filepath.Join(dir, "node-key.pem")
	writeCerts(t, h.CA, cert, key, []string{h.ip(0), h.ip(1), h.ip(2)})
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	h.User, h.Pass = "dagr", hex.EncodeToString(secret)

	for i := range h.NS {
		n := natsNode{Host: h.ip(i), User: h.User, Pass: h.Pass, Cert: cert, Key: key}
		for j := range h.NS {
			if j != i {
				n.Routes = append(n.Routes, fmt.Sprintf("nats-route://%s:6222", h.ip(j)))
			}
		}
		cfg, _ := json.Marshal(n)
		cmd := exec.Command("ip", "netns", "exec", h.NS[i], os.Args[0])
		cmd.Env = append(os.Environ(), natsNodeEnv+"="+string(cfg))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
		ready := make(chan bool, 1)
		go func() {
			line, _ := bufio.NewReader(out).ReadString('\n')
			ready <- line == "ready\n"
		}()
		select {
		case ok := <-ready:
			if !ok {
				t.Fatalf("the NATS node on host %d did not start", i+1)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("the NATS node on host %d did not start within 60s", i+1)
		}
	}
	return h
}

// writeCerts writes a CA, and a server certificate that it signed for the
// addresses ips, as PEM files.
func writeCerts(t *testing.T, caFile, certFile, keyFile string, ips []string) {
	t.Helper()
	// template is a certificate valid for a day, and its key.
	template := func(serial int64, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}, key
	}
	ca, caKey := template(1, "dagr test CA")
	ca.IsCA, ca.BasicConstraintsValid, ca.KeyUsage = true, true, x509.KeyUsageCertSign
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leaf, key := template(2, "dagr test node")
	leaf.KeyUsage = x509.KeyUsageDigitalSignature
	leaf.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, ip := range ips {
		leaf.IPAddresses = append(leaf.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{
		caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// The functions of the test of many machines.
func init() { dagr.Register(seqOnHost, mixedOnHost) }

// hostIP returns this process's address on the hosts' network.
func hostIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && strings.HasPrefix(ip.IP.String(), hostsNet) {
			return ip.IP.String()
		}
	}
	return "?"
}

// logHost appends the host where a task of dag ran to log.
func logHost(log, dag string) error {
	f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, dag, hostIP())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func seqOnHost(log, dag string, n int, seed float64) ([]float64, error) {
	if err := logHost(log, dag); err != nil {
		return nil, err
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = seed + float64(i)
	}
	return v, nil
}

func mixedOnHost(log, dag string, a, b []float64) ([]float64, error) {
	if err := logHost(log, dag); err != nil {
		return nil, err
	}
	return mixed(a, b), nil
}

// hostsRuns counts the runs of dag's tasks by host.
func hostsRuns(t *testing.T, log, dag string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == dag {
			runs[f[1]]++
		}
	}
	return runs
}

// TestWorkersOnHosts: three hosts (network namespaces on a bridge), each
// with a node of one NATS cluster (routes, TLS, a user and password). The
// scheduler runs on host 1 and uses the cluster; workers on hosts 2 and 3
// join by URL through their own host's node. A DAG of 2,000 tasks, whose
// results stay on their workers, runs on both hosts; then, while another
// runs, host 3's link goes down: its workers are declared dead after the
// worker timeout, what they ran and kept is made again on host 2, and the
// result is right.
func TestWorkersOnHosts(t *testing.T) {
	var via []string
	switch os.Getenv(childEnv) {
	case "":
		if os.Geteuid() != 0 {
			t.Skip("making network namespaces needs root")
		}
		if _, err := exec.LookPath("ip"); err != nil {
			t.Skip("making network namespaces needs the ip command (iproute2)")
		}
		h := buildHosts(t)
		cfg, _ := json.Marshal(h)
		t.Setenv(hostsEnv, string(cfg))
		via = []string{"ip", "netns", "exec", h.NS[0]}
	case t.Name():
	default:
		t.Skipf("in the child process of %s", os.Getenv(childEnv))
	}
	isolatedVia(t, 4*time.Minute, via, runOnHosts)
}

// runOnHosts is TestWorkersOnHosts on host 1.
func runOnHosts(t *testing.T) {
	var h hosts
	if err := json.Unmarshal([]byte(os.Getenv(hostsEnv)), &h); err != nil {
		t.Fatal(err)
	}
	s, ctx, join := joinable(t, dagr.Config{
		NATS:          fmt.Sprintf("tls://%s:%s@%s:4222", h.User, h.Pass, h.ip(0)),
		NATSCA:        h.CA,
		WorkerTimeout: 2 * time.Second,
	})
	// Each worker reaches the cluster through its own host's node.
	var workers []*joined
	for host := 1; host <= 2; host++ {
		u, _ := url.Parse(join)
		u.Host = h.ip(host) + ":4222"
		for range 2 {
			workers = append(workers, joinWorkerVia(t, []string{"ip", "netns", "exec", h.NS[host]}, u.String()))
		}
	}
	live := awaitWorkers(t, s, 4)
	scope := dagr.Options{Scope: dagr.WorkerScope(live[1:]...)}

	// dag spawns a DAG of layers of width tasks, each of which mixes two
	// results of the layer above, and returns its layers and the sum of
	// its last layer, and that sum computed here.
	dag := func(name string, layers, width int) ([][]*dagr.Task, *dagr.Task, float64) {
		tasks := make([][]*dagr.Task, layers)
		oracle := make([][]float64, width)
		for j := range width {
			tasks[0] = append(tasks[0], dagr.Spawn(ctx, seqOnHost, scope, h.Log, name, keptLen, float64(j)))
			oracle[j] = make([]float64, keptLen)
			for i := range oracle[j] {
				oracle[j][i] = float64(j) + float64(i)
			}
		}
		for l := 1; l < layers; l++ {
			next := make([][]float64, width)
			for j := range width {
				k := (j + 1 + l) % width
				tasks[l] = append(tasks[l], dagr.Spawn(ctx, mixedOnHost, scope, h.Log, name, tasks[l-1][j], tasks[l-1][k]))
				next[j] = mixed(oracle[j], oracle[k])
			}
			oracle = next
		}
		last := []any{scope}
		for _, task := range tasks[layers-1] {
			last = append(last, task)
		}
		return tasks, dagr.Spawn(ctx, totalOf, last...), totalOf(oracle...)
	}

	_, sum, want := dag("first", 20, 100)
	if got := fetch[float64](t, ctx, sum); got != want {
		t.Fatalf("the first DAG gave %v, want %v", got, want)
	}
	runs := hostsRuns(t, h.Log, "first")
	if runs[h.ip(1)] == 0 || runs[h.ip(2)] == 0 || runs[h.ip(1)]+runs[h.ip(2)] != 2000 {
		t.Fatalf("the first DAG's 2,000 tasks ran %v times by host", runs)
	}
	t.Logf("the first DAG: 2,000 tasks, by host %v", runs)

	tasks, sum, want := dag("second", 20, 100)
	for _, task := range tasks[5] {
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	cut := time.Now()
	if out, err := exec.Command("ip", "netns", "exec", h.NS[2], "ip", "link", "set", h.Dev[2], "down").CombinedOutput(); err != nil {
		t.Fatalf("cutting host 3's link: %v\n%s", err, out)
	}
	got := fetch[float64](t, ctx, sum)
	if got != want {
		t.Fatalf("the second DAG, with host 3 cut off in its middle, gave %v, want %v", got, want)
	}
	runs = hostsRuns(t, h.Log, "second")
	t.Logf("the second DAG: done %v after the cut, runs by host %v", time.Since(cut).Round(time.Millisecond), runs)
	if runs[h.ip(1)]+runs[h.ip(2)] <= 2000 {
		t.Fatalf("the second DAG's tasks ran %v times by host: none was made again", runs)
	}
	if live := s.Workers(ctx); len(live) != 3 {
		t.Fatalf("live workers %v after host 3 was cut off, want worker 1 and host 2's", live)
	}
	s.Close()
	for i, w := range workers {
		code := w.exit(t, 60*time.Second)
		if (i < 2) != (code == 0) {
			t.Errorf("worker %d of host %d exited with %d; its standard error: %s", i%2+1, i/2+2, code, w.stderr)
		}
	}
}
