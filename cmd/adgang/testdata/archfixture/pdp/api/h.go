package api

import "net/http"

// H may use net/http.
var H http.Handler
