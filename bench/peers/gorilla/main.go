// The seed's own server: gorilla/websocket's echo example (server/main.go), its /echo handler
// as written there, logging every message. A peer for scripts/bench.sh, built offline from
// Debian's golang-github-gorilla-websocket-dev (see go.mod).
//
//	go build -o ../../../target/gorilla-echo . && ../../../target/gorilla-echo -addr 127.0.0.1:9006
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gorilla/websocket"
)

var addr = flag.String("addr", "localhost:8080", "http service address")

// Not in the seed: the bench also runs it without the per-message line, for a fair comparison
// with servers that log nothing.
var quiet = flag.Bool("quiet", false, "do not log each message")

// Not in the seed either: permessage-deflate, for the compressed benchmark (gorilla agrees to
// it without context takeover, at its default level, flate.BestSpeed).
var compress = flag.Bool("compress", false, "agree to permessage-deflate")

// Not in the seed either: TLS (crypto/tls), for the wss rows of the benchmark.
var tlsCert = flag.String("tls-cert", "", "PEM certificate: serve wss (needs -tls-key)")
var tlsKey = flag.String("tls-key", "", "PEM private key for -tls-cert")

var upgrader = websocket.Upgrader{} // use default options

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		log.Print("upgrade:", err)
		return
	}
	defer c.Close()
	for {
		mt, message, err := c.ReadMessage()
		if err != nil {
			log.Println("read:", err)
			break
		}
		if !*quiet {
			log.Printf("recv: %s", message)
		}
		err = c.WriteMessage(mt, message)
		if err != nil {
			log.Println("write:", err)
			break
		}
	}
}

func main() {
	flag.Parse()
	log.SetFlags(0)
	upgrader.EnableCompression = *compress
	http.HandleFunc("/echo", echo)
	if *tlsCert != "" {
		log.Fatal(http.ListenAndServeTLS(*addr, *tlsCert, *tlsKey, nil))
	}
	log.Fatal(http.ListenAndServe(*addr, nil))
}
