// Command note is the Go side of Vouch's signed-note interop test (test/interop/note.test.ts).
// It wraps golang.org/x/mod/sumdb/note, the reference implementation of c2sp.org/signed-note,
// and adds a minimal verifier for c2sp.org/tlog-cosignature cosignature/v1 (type 0x04) keys,
// which that package does not know.
//
// Usage:
//
//	note gen <name>           print a new skey and vkey, one per line
//	note sign <skey>          sign the note text on stdin, print the signed note
//	note verify <vkey>...     open the signed note on stdin, print each verified key as
//	                          <name>+<hex key ID>, followed by " time=<t>" for cosignatures
//
// It builds in GOPATH mode against the Debian golang-golang-x-mod-dev sources, so it needs
// nothing from the network.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

const algCosignatureV1 = 0x04

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "note: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: note gen|sign|verify ...")
	}
	switch args[0] {
	case "gen":
		if len(args) != 2 {
			return errors.New("usage: note gen <name>")
		}
		skey, vkey, err := note.GenerateKey(rand.Reader, args[1])
		if err != nil {
			return err
		}
		fmt.Printf("%s\n%s\n", skey, vkey)
		return nil
	case "sign":
		if len(args) != 2 {
			return errors.New("usage: note sign <skey> < text")
		}
		signer, err := note.NewSigner(args[1])
		if err != nil {
			return err
		}
		text, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		signed, err := note.Sign(&note.Note{Text: string(text)}, signer)
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(signed)
		return err
	case "verify":
		var verifiers []note.Verifier
		cosigners := map[string]bool{}
		for _, vkey := range args[1:] {
			v, cosigner, err := newVerifier(vkey)
			if err != nil {
				return fmt.Errorf("%s: %v", vkey, err)
			}
			verifiers = append(verifiers, v)
			cosigners[fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())] = cosigner
		}
		msg, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		n, err := note.Open(msg, note.VerifierList(verifiers...))
		if err != nil {
			return err
		}
		for _, sig := range n.Sigs {
			key := fmt.Sprintf("%s+%08x", sig.Name, sig.Hash)
			if !cosigners[key] {
				fmt.Println(key)
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(sig.Base64)
			if err != nil || len(raw) < 12 {
				return errors.New("malformed cosignature")
			}
			fmt.Printf("%s time=%d\n", key, binary.BigEndian.Uint64(raw[4:12]))
		}
		return nil
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// newVerifier returns a note verifier for a vkey, and whether it is a cosignature/v1 key.
func newVerifier(vkey string) (note.Verifier, bool, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	key, err := base64.StdEncoding.DecodeString(key64)
	if !ok1 || !ok2 || err != nil || len(key) == 0 {
		return nil, false, errors.New("malformed vkey")
	}
	if key[0] != algCosignatureV1 {
		v, err := note.NewVerifier(vkey)
		return v, false, err
	}
	hash, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil || len(hash16) != 8 || len(key) != 1+ed25519.PublicKeySize {
		return nil, false, errors.New("malformed cosignature/v1 vkey")
	}
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write(key)
	if binary.BigEndian.Uint32(h.Sum(nil)) != uint32(hash) {
		return nil, false, errors.New("cosignature/v1 vkey has the wrong key ID")
	}
	return &cosignatureV1Verifier{name: name, hash: uint32(hash), key: ed25519.PublicKey(key[1:])}, true, nil
}

// cosignatureV1Verifier checks Ed25519 cosignature/v1 signatures: an 8-byte big-endian
// timestamp followed by an Ed25519 signature of "cosignature/v1\ntime <t>\n" || note text.
type cosignatureV1Verifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v *cosignatureV1Verifier) Name() string    { return v.name }
func (v *cosignatureV1Verifier) KeyHash() uint32 { return v.hash }

func (v *cosignatureV1Verifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t > math.MaxInt64 {
		return false
	}
	signed := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(v.key, signed, sig[8:])
}
