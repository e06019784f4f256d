// Command jsinstall installs the JavaScript packages that interop/js pins
// (`npm ci`, only when node_modules is not what package-lock.json pins) and
// prints the directory.
package main

import (
	"fmt"
	"os"

	"github.com/cryptkeeper-go/cryptkeeper/internal/jsenv"
)

func main() {
	dir, err := jsenv.Install()
	if err != nil {
		fmt.Fprintln(os.Stderr, "jsinstall:", err)
		os.Exit(1)
	}
	fmt.Println(dir)
}
