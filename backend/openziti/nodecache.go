package openziti

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
)

// The node cache (Config.NodeCache): the roots (scheme://host:port) of the
// nodes a cluster listed, one JSON file a network, 0600, written only when
// the list differs from what the file holds. It only adds places to try:
// the TLS trust is the network's own, whatever the file says. A file that
// is missing, damaged or holds something else than URLs is passed over.

type nodeCacheFile struct {
	Nodes []string `json:"nodes"`
}

// readNodeCache returns the node roots kept in path (none if path is "").
func readNodeCache(path string) []string {
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var f nodeCacheFile
	if json.Unmarshal(data, &f) != nil {
		return nil
	}
	var out []string
	for _, r := range f.Nodes {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" || u.Path != "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}

// writeNodeCache keeps roots in path when they differ from what it holds;
// best effort (a cache that can't be written leaves the next run as it was).
func writeNodeCache(path string, roots []string) {
	if path == "" || len(roots) < 2 || slices.Equal(readNodeCache(path), roots) {
		return
	}
	data, err := json.Marshal(nodeCacheFile{Nodes: roots})
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(path), 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".nodes-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(append(data, '\n'))
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		_ = os.Remove(tmp.Name())
	}
}
