// Command merkle answers Merkle-tree questions with golang.org/x/mod/sumdb/tlog, the Go checksum
// database's reference implementation, so test/interop/merkle.test.ts can compare Vouch's RFC 6962
// math and C2SP tiles with it. It reads one JSON request on stdin and writes one JSON answer.
//
// Build in GOPATH mode against the Debian package golang-golang-x-mod-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o merkle .
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

type request struct {
	Entries     [][]byte   `json:"entries"`     // record data, base64 in JSON
	Roots       []int64    `json:"roots"`       // tree sizes (> 0)
	Inclusion   [][2]int64 `json:"inclusion"`   // [index, size]
	Consistency [][2]int64 `json:"consistency"` // [size1, size2]
	TilesAt     int64      `json:"tilesAt"`     // tree size whose tiles to list (0: none)
}

type answer struct {
	LeafHashes  []tlog.Hash       `json:"leafHashes"`
	Roots       []tlog.Hash       `json:"roots"`
	Inclusion   [][]tlog.Hash     `json:"inclusion"`
	Consistency [][]tlog.Hash     `json:"consistency"`
	Tiles       map[string][]byte `json:"tiles"` // C2SP path -> tile bytes
}

// storage is the dense stored-hash array tlog.StoredHashes fills.
type storage []tlog.Hash

func (s storage) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s)) {
			return nil, fmt.Errorf("hash index %d not stored", x)
		}
		out[i] = s[x]
	}
	return out, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "merkle:", err)
		os.Exit(1)
	}
}

func run() error {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		return err
	}
	var ans answer
	var s storage
	for i, entry := range req.Entries {
		hashes, err := tlog.StoredHashes(int64(i), entry, s)
		if err != nil {
			return err
		}
		s = append(s, hashes...)
		ans.LeafHashes = append(ans.LeafHashes, tlog.RecordHash(entry))
	}
	for _, size := range req.Roots {
		h, err := tlog.TreeHash(size, s)
		if err != nil {
			return err
		}
		ans.Roots = append(ans.Roots, h)
	}
	for _, q := range req.Inclusion {
		p, err := tlog.ProveRecord(q[1], q[0], s)
		if err != nil {
			return err
		}
		ans.Inclusion = append(ans.Inclusion, append([]tlog.Hash{}, p...))
	}
	for _, q := range req.Consistency {
		p, err := tlog.ProveTree(q[1], q[0], s)
		if err != nil {
			return err
		}
		ans.Consistency = append(ans.Consistency, append([]tlog.Hash{}, p...))
	}
	ans.Tiles = map[string][]byte{}
	if req.TilesAt > 0 {
		// With old size 0, NewTiles lists every width of each partial tile, 1..W.
		for _, t := range tlog.NewTiles(8, 0, req.TilesAt) {
			data, err := tlog.ReadTileData(t, s)
			if err != nil {
				return err
			}
			// sumdb spells tile/8/L/N; C2SP drops the height: tile/L/N.
			ans.Tiles[strings.Replace(t.Path(), "tile/8/", "tile/", 1)] = data
		}
	}
	return json.NewEncoder(os.Stdout).Encode(ans)
}
