package main

import (
	"net/http"

	_ "example.com/fix/admin"
)

func main() { _ = http.StatusOK }
