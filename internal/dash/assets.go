package dash

import (
	"embed"
	"io/fs"
)

// The page, its scripts, its style sheet and its icon: everything the
// browser loads comes from the binary.
//
//go:embed assets
var embedded embed.FS

var assets = func() fs.FS {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		panic(err) // the directory is embedded above: cannot happen
	}
	return sub
}()
