module example.invalid/gorilla-echo

go 1.19

require github.com/gorilla/websocket v1.5.0

// No network: Debian's golang-github-gorilla-websocket-dev installs the source here.
replace github.com/gorilla/websocket => /usr/share/gocode/src/github.com/gorilla/websocket
