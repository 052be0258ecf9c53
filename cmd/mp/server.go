package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/mp-go/mp/cluster"
)

// serverCmd runs a NATS server with JetStream for mp.Cluster pools and
// their workers on several hosts, until SIGINT or SIGTERM.
func serverCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mp server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:4222", "`host:port` for clients and workers (0.0.0.0:4222 for other hosts: set -token or -user too)")
	store := fs.String("store", "", "JetStream store `dir` (default: a temporary directory, removed at exit)")
	token := fs.String("token", "", "clients authenticate with this `token` (nats://TOKEN@host:port)")
	user := fs.String("user", "", "clients authenticate as this `user`, with -password")
	password := fs.String("password", "", "the user's `password`")
	name := fs.String("name", "", "the server's `name` (distinct for each node of a cluster)")
	tlsCert := fs.String("tls-cert", "", "speak TLS to clients with this certificate `file` (PEM; with -tls-key; clients use tls:// URLs)")
	tlsKey := fs.String("tls-key", "", "the certificate's key `file` (PEM)")
	clusterName := fs.String("cluster", "", "join the NATS cluster `name` (with -cluster-port and -routes)")
	clusterPort := fs.Int("cluster-port", 6222, "`port` for the other nodes")
	routes := fs.String("routes", "", "the other nodes, `nats-route://host:port,...`")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: mp server [options]

Runs a NATS server with JetStream for mp.Cluster pools and their workers
on several hosts, until interrupted. A pool connects with
mp.NewPool(mp.Cluster(URL)); a worker is the program started with
MP_CLUSTER_WORKER=URL.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 255
	}
	host, portText, err := net.SplitHostPort(*listen)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil {
		fmt.Fprintf(stderr, "mp server: -listen %q: want host:port\n", *listen)
		return 255
	}
	opts := []cluster.ServerOption{cluster.Listen(host, port)}
	if *store != "" {
		opts = append(opts, cluster.StoreDir(*store))
	}
	if *token != "" {
		opts = append(opts, cluster.Token(*token))
	}
	if *user != "" {
		opts = append(opts, cluster.UserPassword(*user, *password))
	}
	if *name != "" {
		opts = append(opts, cluster.ServerName(*name))
	}
	if *tlsCert != "" || *tlsKey != "" {
		opts = append(opts, cluster.TLS(*tlsCert, *tlsKey))
	}
	if *clusterName != "" {
		var rs []string
		if *routes != "" {
			rs = strings.Split(*routes, ",")
		}
		opts = append(opts, cluster.Routes(*clusterName, *clusterPort, rs...))
	}
	srv, err := cluster.StartServer(opts...)
	if err != nil {
		fmt.Fprintln(stderr, "mp server:", err)
		return 1
	}
	fmt.Fprintf(stdout, "mp server: listening on %s (JetStream on); stop with Ctrl-C\n", srv.URL())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	signal.Stop(sig)
	srv.Shutdown()
	fmt.Fprintln(stdout, "mp server: stopped")
	return 0
}

// workerCmd runs this host's share of the jobs of `mp run -cluster URL`
// (and of programs whose pools use the functions the mp command
// registers), until SIGINT or SIGTERM.
func workerCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("mp worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := fs.String("connect", "", "the cluster's `URL` (nats://[TOKEN@]host:4222, several separated by commas)")
	creds := fs.String("creds", os.Getenv("MP_CLUSTER_CREDS"), "authenticate with this .creds or nkey seed `file`")
	ca := fs.String("ca", os.Getenv("MP_CLUSTER_CA"), "trust this certificate authority `file` for tls:// URLs")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: mp worker -connect URL

Runs the jobs of "mp run -cluster URL" (and "mp groupby -cluster URL") on
this host, one at a time (start several for more), until interrupted: the
job it runs finishes, then it exits.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 255
	}
	if *connect == "" || fs.NArg() > 0 {
		fs.Usage()
		return 255
	}
	os.Setenv("MP_CLUSTER_CREDS", *creds)
	os.Setenv("MP_CLUSTER_CA", *ca)
	return cluster.Work(*connect)
}
