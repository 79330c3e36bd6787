// Command tlogcheck is an independent client of a C2SP tiled log (c2sp.org/tlog-tiles) served
// over HTTP, built on golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog, the Go
// checksum database's reference code. test/interop/log.test.ts runs it against logs that Vouch
// writes, so that what Vouch publishes is checked by code Vouch did not write.
//
// The sumdb packages know neither C2SP checkpoints (origin first, where sumdb expects
// "go.sum database tree"), C2SP tile paths (no height segment, entry bundles under
// tile/entries), uint16-length-prefixed entry bundles, nor cosignature/v1 (type 0x04) keys;
// this program adds exactly those four pieces and leaves all signature, hashing and proof logic
// to the packages.
//
// Usage:
//
//	tlogcheck verify <base-url> <vkey> [<witness-vkey>...]
//	    open the checkpoint with the log key (type 0x01) and the witness keys (type 0x04),
//	    recompute the root from the tiles, hash every entry of every bundle into a tree, check
//	    every tile of the tree and its root against it, and print one JSON line
//	    {"origin","size","root","entries","cosignatures","ok"}
//	tlogcheck prove <base-url> <vkey> <index>
//	    print the inclusion proof of entry <index> as a c2sp.org/tlog-proof@v1
//	tlogcheck consistency <base-url> <vkey> <old-size> <old-root-base64>
//	    check that the current checkpoint is consistent with an older tree and print one
//	    JSON line {"oldSize","size","root","proof","ok"}
//
// Any failure prints "tlogcheck: <reason>" on stderr and exits with status 1. It builds in
// GOPATH mode against the Debian golang-golang-x-mod-dev sources, so it needs no network.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	tileHeight      = 8
	fullWidth       = 1 << tileHeight
	maxCheckpoint   = 1 << 20
	maxBundle       = fullWidth * (2 + math.MaxUint16)
	algCosignature  = 0x04
	cosignatureSize = 8 + ed25519.SignatureSize
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "tlogcheck: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: tlogcheck verify|prove|consistency <base-url> <vkey> ...")
	}
	log := &tileLog{base: strings.TrimSuffix(args[1], "/") + "/", saved: map[tlog.Tile][]byte{}}
	switch args[0] {
	case "verify":
		return verify(log, args[2], args[3:])
	case "prove":
		if len(args) != 4 {
			return errors.New("usage: tlogcheck prove <base-url> <vkey> <index>")
		}
		index, err := parseSize(args[3])
		if err != nil {
			return fmt.Errorf("index: %v", err)
		}
		return prove(log, args[2], index)
	case "consistency":
		if len(args) != 5 {
			return errors.New("usage: tlogcheck consistency <base-url> <vkey> <old-size> <old-root-base64>")
		}
		oldSize, err := parseSize(args[3])
		if err != nil {
			return fmt.Errorf("old size: %v", err)
		}
		oldRoot, err := parseHash(args[4])
		if err != nil {
			return fmt.Errorf("old root: %v", err)
		}
		return consistency(log, args[2], oldSize, oldRoot)
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
}

type cosignature struct {
	Key  string `json:"key"`
	Time uint64 `json:"time"`
}

func verify(log *tileLog, vkey string, witnesses []string) error {
	c, err := log.openCheckpoint(vkey, witnesses)
	if err != nil {
		return err
	}
	// 1. The root from the right-edge tiles alone, read without authentication, compared.
	root, err := tlog.TreeHash(c.size, tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		return log.readHashesUnchecked(c.size, indexes)
	}))
	if err != nil {
		return fmt.Errorf("computing the root from the tiles: %v", err)
	}
	if c.size == 0 {
		root = emptyRoot
	}
	if root != c.root {
		return fmt.Errorf("the tiles give root %v, the checkpoint says %v", root, c.root)
	}
	// 2. Every entry of every bundle, hashed into a whole tree in memory. LIMIT: this holds two
	// hashes per entry in memory, fine for test logs of millions of entries, not for more.
	//
	// We do not trust leaf hashes read through tlog.TileHashReader: its loop that checks child
	// tiles against their parents starts at len(stx), the number of root-path hashes, not the
	// number of tiles holding them, so a child tile can come back unchecked. Seen with x/mod
	// 0.7.0 (the same loop is in a later upstream copy we read): in a tree of 700 entries,
	// the 6 root-path hashes sit in 2 tiles and a tampered tile/0/000 (tiles[2]) is returned
	// as is. sumdb's own client is safe because it runs CheckRecord on what it reads.
	var stored hashStore
	for n := int64(0); n*fullWidth < c.size; n++ {
		bundle, err := log.readBundle(n, int(min64(fullWidth, c.size-n*fullWidth)))
		if err != nil {
			return err
		}
		for _, entry := range bundle {
			hashes, err := tlog.StoredHashes(int64(len(stored.leaves)), entry, stored)
			if err != nil {
				return err
			}
			stored.hashes = append(stored.hashes, hashes...)
			stored.leaves = append(stored.leaves, hashes[0])
		}
	}
	// 3. Every tile of this tree size, byte for byte, against the tiles the entries give.
	for _, t := range treeTiles(c.size) {
		want, err := tlog.ReadTileData(t, stored)
		if err != nil {
			return err
		}
		got, err := log.ReadTiles([]tlog.Tile{t})
		if err != nil {
			return err
		}
		if !bytes.Equal(got[0], want) {
			at := 0
			for bytes.Equal(got[0][at*tlog.HashSize:(at+1)*tlog.HashSize], want[at*tlog.HashSize:(at+1)*tlog.HashSize]) {
				at++
			}
			if t.L == 0 {
				return fmt.Errorf("%s disagrees with the bundles at entry %d", tilePath(t), t.N*fullWidth+int64(at))
			}
			return fmt.Errorf("%s disagrees with the bundles at hash %d", tilePath(t), at)
		}
	}
	// 4. The root of the entries themselves (what a monitor recomputing the log would see).
	root, err = tlog.TreeHash(c.size, stored)
	if err != nil {
		return err
	}
	if c.size == 0 {
		root = emptyRoot
	}
	if root != c.root {
		return fmt.Errorf("the entries give root %v, the checkpoint says %v", root, c.root)
	}
	summary := struct {
		Origin       string        `json:"origin"`
		Size         int64         `json:"size"`
		Root         tlog.Hash     `json:"root"`
		Entries      int           `json:"entries"`
		Cosignatures []cosignature `json:"cosignatures"`
		OK           bool          `json:"ok"`
	}{c.origin, c.size, c.root, len(stored.leaves), c.cosignatures, true}
	return json.NewEncoder(os.Stdout).Encode(summary)
}

// emptyRoot is the RFC 6962 hash of an empty tree, SHA-256 of nothing; tlog.TreeHash(0) is zeros.
var emptyRoot = tlog.Hash(sha256.Sum256(nil))

// hashStore is a whole tree's stored hashes in the dense order tlog.StoredHashes produces.
type hashStore struct {
	hashes []tlog.Hash
	leaves []tlog.Hash
}

func (s hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("hash index %d not stored", x)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

// treeTiles lists the hash tiles of a tree of the given size: at each level, its full tiles and
// at most one partial tile of width floor(size / 256^level) mod 256.
func treeTiles(size int64) []tlog.Tile {
	var tiles []tlog.Tile
	for level := 0; size>>(uint(level)*tileHeight) > 0; level++ {
		hashes := size >> (uint(level) * tileHeight)
		for n := int64(0); n < hashes/fullWidth; n++ {
			tiles = append(tiles, tlog.Tile{H: tileHeight, L: level, N: n, W: fullWidth})
		}
		if width := hashes % fullWidth; width > 0 {
			tiles = append(tiles, tlog.Tile{H: tileHeight, L: level, N: hashes / fullWidth, W: int(width)})
		}
	}
	return tiles
}

func prove(log *tileLog, vkey string, index int64) error {
	c, err := log.openCheckpoint(vkey, nil)
	if err != nil {
		return err
	}
	if index >= c.size {
		return fmt.Errorf("index %d is not in a tree of size %d", index, c.size)
	}
	hashes := tlog.TileHashReader(tlog.Tree{N: c.size, Hash: c.root}, log)
	proof, err := tlog.ProveRecord(c.size, index, hashes)
	if err != nil {
		return err
	}
	// TileHashReader may return a hash it did not authenticate (see verify), so check the proof.
	leaf, err := hashes.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
	if err != nil {
		return err
	}
	if err := tlog.CheckRecord(proof, c.size, c.root, index, leaf[0]); err != nil {
		return fmt.Errorf("the tiles give a bad inclusion proof: %v", err)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "c2sp.org/tlog-proof@v1\nindex %d\n", index)
	for _, h := range proof {
		fmt.Fprintf(&out, "%s\n", h)
	}
	out.WriteString("\n")
	out.Write(c.signed)
	_, err = os.Stdout.Write(out.Bytes())
	return err
}

func consistency(log *tileLog, vkey string, oldSize int64, oldRoot tlog.Hash) error {
	c, err := log.openCheckpoint(vkey, nil)
	if err != nil {
		return err
	}
	var proof tlog.TreeProof
	switch {
	case oldSize > c.size:
		return fmt.Errorf("the log shrank from %d to %d", oldSize, c.size)
	case oldSize == 0:
		// CheckTree refuses size 0: every tree extends the empty one, whose root is fixed.
		if oldRoot != emptyRoot {
			return errors.New("the old root of an empty tree is not SHA-256 of nothing")
		}
	default:
		proof, err = tlog.ProveTree(c.size, oldSize, tlog.TileHashReader(tlog.Tree{N: c.size, Hash: c.root}, log))
		if err != nil {
			return err
		}
		if err := tlog.CheckTree(proof, c.size, c.root, oldSize, oldRoot); err != nil {
			return fmt.Errorf("tree %d is not consistent with tree %d: %v", c.size, oldSize, err)
		}
	}
	summary := struct {
		OldSize int64     `json:"oldSize"`
		Size    int64     `json:"size"`
		Root    tlog.Hash `json:"root"`
		Proof   int       `json:"proof"`
		OK      bool      `json:"ok"`
	}{oldSize, c.size, c.root, len(proof), true}
	return json.NewEncoder(os.Stdout).Encode(summary)
}

// checkpoint is an opened, parsed c2sp.org/tlog-checkpoint.
type checkpoint struct {
	signed       []byte
	origin       string
	size         int64
	root         tlog.Hash
	cosignatures []cosignature
}

// openCheckpoint fetches the checkpoint and opens it with note.Open. note.Open accepts a note
// that any one known key verified, so the log's own signature is required separately.
func (l *tileLog) openCheckpoint(vkey string, witnesses []string) (*checkpoint, error) {
	logVerifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("log vkey: %v", err)
	}
	verifiers := []note.Verifier{logVerifier}
	isWitness := map[string]bool{}
	for _, w := range witnesses {
		v, err := newCosignatureVerifier(w)
		if err != nil {
			return nil, fmt.Errorf("witness vkey %s: %v", w, err)
		}
		verifiers = append(verifiers, v)
		isWitness[keyString(v.Name(), v.KeyHash())] = true
	}
	signed, err := l.fetch("checkpoint", maxCheckpoint)
	if err != nil {
		return nil, err
	}
	n, err := note.Open(signed, note.VerifierList(verifiers...))
	if err != nil {
		return nil, fmt.Errorf("opening the checkpoint: %v", err)
	}
	c := &checkpoint{signed: signed, cosignatures: []cosignature{}}
	logSigned := false
	for _, sig := range n.Sigs {
		key := keyString(sig.Name, sig.Hash)
		if key == keyString(logVerifier.Name(), logVerifier.KeyHash()) {
			logSigned = true
		}
		if isWitness[key] {
			raw, _ := base64.StdEncoding.DecodeString(sig.Base64) // note.Open verified it
			c.cosignatures = append(c.cosignatures, cosignature{key, binary.BigEndian.Uint64(raw[4:12])})
		}
	}
	if !logSigned {
		return nil, errors.New("the checkpoint has no valid signature by the log key")
	}
	c.origin, c.size, c.root, err = parseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// parseCheckpoint parses a C2SP checkpoint text: origin, decimal size, base64 root, then
// optional non-empty extension lines. tlog.ParseTree expects the sumdb header instead.
func parseCheckpoint(text string) (string, int64, tlog.Hash, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return "", 0, tlog.Hash{}, errors.New("malformed checkpoint: fewer than three lines")
	}
	for _, line := range lines {
		if line == "" {
			return "", 0, tlog.Hash{}, errors.New("malformed checkpoint: empty line")
		}
	}
	size, err := parseSize(lines[1])
	if err != nil {
		return "", 0, tlog.Hash{}, fmt.Errorf("malformed checkpoint size: %v", err)
	}
	root, err := parseHash(lines[2])
	if err != nil {
		return "", 0, tlog.Hash{}, fmt.Errorf("malformed checkpoint root: %v", err)
	}
	return lines[0], size, root, nil
}

func parseSize(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%q is not a canonical non-negative decimal", s)
	}
	return n, nil
}

func parseHash(s string) (tlog.Hash, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	var h tlog.Hash
	if err != nil || len(raw) != tlog.HashSize || base64.StdEncoding.EncodeToString(raw) != s {
		return h, errors.New("not a canonical base64 SHA-256 hash")
	}
	copy(h[:], raw)
	return h, nil
}

func keyString(name string, hash uint32) string { return fmt.Sprintf("%s+%08x", name, hash) }

// newCosignatureVerifier parses a cosignature/v1 (type 0x04) vkey; sumdb/note knows only 0x01.
func newCosignatureVerifier(vkey string) (note.Verifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(key64)
	if !ok1 || !ok2 || err != nil || len(hash16) != 8 || len(key) != 1+ed25519.PublicKeySize {
		return nil, errors.New("malformed vkey")
	}
	if key[0] != algCosignature {
		return nil, fmt.Errorf("key type 0x%02x is not cosignature/v1 (0x04)", key[0])
	}
	hash, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return nil, errors.New("malformed key ID")
	}
	id := sha256.Sum256(append([]byte(name+"\n"), key...))
	if binary.BigEndian.Uint32(id[:4]) != uint32(hash) {
		return nil, errors.New("the key ID does not match the key")
	}
	return &cosignatureVerifier{name: name, hash: uint32(hash), key: ed25519.PublicKey(key[1:])}, nil
}

// cosignatureVerifier checks c2sp.org/tlog-cosignature cosignature/v1 signatures: an 8-byte
// big-endian timestamp, then an Ed25519 signature of "cosignature/v1\ntime <t>\n" || note text.
type cosignatureVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosignatureVerifier) Name() string    { return v.name }
func (v *cosignatureVerifier) KeyHash() uint32 { return v.hash }

func (v *cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != cosignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > math.MaxInt64 {
		return false
	}
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(v.key, signed, sig[8:])
}

// tileLog reads a C2SP tiled log over HTTP. It is a tlog.TileReader: ReadTiles fetches tiles
// without trusting them, and SaveTiles keeps the ones tlog accepted in memory for the rest of
// the command (never on disk; see verify for why "accepted" is not quite "authenticated").
type tileLog struct {
	base  string
	saved map[tlog.Tile][]byte
}

var client = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4},
}

// tilePath maps a sumdb tile to its C2SP path: sumdb's tile/8/L/N becomes tile/L/N, and its
// data tiles tile/8/data/N become entry bundles tile/entries/N.
func tilePath(t tlog.Tile) string {
	if t.H != tileHeight {
		panic("tlogcheck: tile height is not 8")
	}
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if t.L == -1 {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

func (l *tileLog) fetch(path string, limit int64) ([]byte, error) {
	resp, err := client.Get(l.base + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &statusError{path, resp.StatusCode}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("GET %s: more than %d bytes", path, limit)
	}
	return data, nil
}

type statusError struct {
	path   string
	status int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: status %d", e.path, e.status) }

// fetchTile fetches tile t (hashes or entry bundle) and returns its data and the width it was
// fetched at. A partial tile that is gone may have been replaced by its full tile (tlog-tiles
// allows deleting it then), so it falls back to that; callers use only the first t.W items.
func (l *tileLog) fetchTile(t tlog.Tile, limit int64) ([]byte, int, error) {
	data, err := l.fetch(tilePath(t), limit)
	var status *statusError
	if errors.As(err, &status) && status.status == http.StatusNotFound && t.W < fullWidth {
		full := t
		full.W = fullWidth
		data, err = l.fetch(tilePath(full), limit)
		return data, fullWidth, err
	}
	return data, t.W, err
}

func (l *tileLog) Height() int { return tileHeight }

func (l *tileLog) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if data, ok := l.saved[t]; ok {
			out[i] = data
			continue
		}
		data, width, err := l.fetchTile(t, fullWidth*tlog.HashSize)
		if err != nil {
			return nil, err
		}
		if len(data) != width*tlog.HashSize {
			return nil, fmt.Errorf("%s has %d bytes, want %d", tilePath(t), len(data), width*tlog.HashSize)
		}
		out[i] = data[:t.W*tlog.HashSize]
	}
	return out, nil
}

func (l *tileLog) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, t := range tiles {
		l.saved[t] = data[i]
	}
}

// readHashesUnchecked reads stored hashes straight from the tiles of a tree of the given size,
// authenticating nothing; verify uses it only to recompute the root and compare.
func (l *tileLog) readHashesUnchecked(size int64, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		t := tlog.TileForIndex(tileHeight, x)
		// Widen to the tile as published for this tree size: floor(size / 256^L) - 256 N hashes.
		t.W = int(min64(fullWidth, size>>(uint(t.L)*tileHeight)-t.N*fullWidth))
		data, err := l.ReadTiles([]tlog.Tile{t})
		if err != nil {
			return nil, err
		}
		if out[i], err = tlog.HashFromTile(t, data[0], x); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readBundle fetches entry bundle n of a tree where it holds width entries, and splits it into
// its uint16-length-prefixed entries; a bundle with the wrong count or trailing bytes is an error.
func (l *tileLog) readBundle(n int64, width int) ([][]byte, error) {
	t := tlog.Tile{H: tileHeight, L: -1, N: n, W: width}
	data, fetched, err := l.fetchTile(t, maxBundle)
	if err != nil {
		return nil, err
	}
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 || len(data) < 2+int(binary.BigEndian.Uint16(data)) {
			return nil, fmt.Errorf("%s: truncated entry", tilePath(t))
		}
		size := 2 + int(binary.BigEndian.Uint16(data))
		entries = append(entries, data[2:size])
		data = data[size:]
	}
	if len(entries) != fetched {
		return nil, fmt.Errorf("%s has %d entries, want %d", tilePath(t), len(entries), fetched)
	}
	return entries[:width], nil
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}
