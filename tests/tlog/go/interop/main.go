// Command interop checks the Python log's artifacts with Go's reference packages,
// golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog, and makes some of its
// own for the Python side to check. It reads one JSON request (argument 1) and writes
// one JSON report to standard output; tests/tlog/test_go_interop.py builds and runs it.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type inclusion struct {
	Index int64    `json:"index"`
	Leaf  string   `json:"leaf"`
	Proof []string `json:"proof"`
}

type consistency struct {
	Size1 int64    `json:"size1"`
	Root1 string   `json:"root1"`
	Proof []string `json:"proof"`
}

type request struct {
	LogVkey     string        `json:"log_vkey"`
	WitnessVkey string        `json:"witness_vkey"`
	Checkpoint  string        `json:"checkpoint"` // our signed, cosigned checkpoint note
	Size        int64         `json:"size"`
	Root        string        `json:"root"`
	Inclusion   []inclusion   `json:"inclusion"`
	Consistency []consistency `json:"consistency"`
	TilesDir    string        `json:"tiles_dir"` // C2SP layout: tile/<L>/<N>[.p/<W>]
	PrivateKey  string        `json:"private_key"`
	TextToSign  string        `json:"text_to_sign"`
}

type report struct {
	CheckpointText    string     `json:"checkpoint_text"`
	VerifiedBy        []string   `json:"verified_by"`
	InclusionErrors   []string   `json:"inclusion_errors"`
	ConsistencyErrors []string   `json:"consistency_errors"`
	TreeHashFromTiles string     `json:"tree_hash_from_tiles"`
	ProofsFromTiles   [][]string `json:"proofs_from_tiles"`
	TilesRead         []string   `json:"tiles_read"`
	SignedWithOurKey  string     `json:"signed_with_our_key"`
	GoVkey            string     `json:"go_vkey"`
	GoNote            string     `json:"go_note"`
	Errors            []string   `json:"errors"`
}

// cosignatureVerifier checks C2SP tlog-cosignature/v1 signatures, which x/mod 0.7's
// note package has no key type for: it plugs into note.Open as a note.Verifier.
type cosignatureVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (v cosignatureVerifier) Name() string    { return v.name }
func (v cosignatureVerifier) KeyHash() uint32 { return v.hash }
func (v cosignatureVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	signed := fmt.Sprintf("cosignature/v1\ntime %d\n%s", t, msg)
	return ed25519.Verify(v.key, []byte(signed), sig[8:])
}

func newCosignatureVerifier(vkey string) (note.Verifier, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("malformed witness vkey")
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 33 || key[0] != 0x04 {
		return nil, errors.New("not a type 0x04 witness key")
	}
	h := sha256.Sum256(append([]byte(parts[0]+"\n"), key...))
	hash := binary.BigEndian.Uint32(h[:4])
	if fmt.Sprintf("%08x", hash) != parts[1] {
		return nil, errors.New("witness key ID mismatch")
	}
	return cosignatureVerifier{parts[0], hash, ed25519.PublicKey(key[1:])}, nil
}

// c2spTiles reads tiles from a folder in C2SP tlog-tiles layout, which drops the
// height from Go's tile/8/L/N[.p/W] paths.
type c2spTiles struct {
	dir  string
	read []string
}

func (t *c2spTiles) Height() int { return 8 }

func (t *c2spTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var data [][]byte
	for _, tile := range tiles {
		path := "tile/" + strings.TrimPrefix(tile.Path(), "tile/8/")
		t.read = append(t.read, path)
		b, err := os.ReadFile(filepath.Join(t.dir, filepath.FromSlash(path)))
		if err != nil {
			return nil, err
		}
		data = append(data, b)
	}
	return data, nil
}

func (t *c2spTiles) SaveTiles([]tlog.Tile, [][]byte) {}

func hashes(list []string) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for _, s := range list {
		h, err := tlog.ParseHash(s)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

func run(req request, rep *report) {
	fail := func(what string, err error) { rep.Errors = append(rep.Errors, what+": "+err.Error()) }

	logVerifier, err := note.NewVerifier(req.LogVkey)
	if err != nil {
		fail("note.NewVerifier(log vkey)", err)
		return
	}
	witness, err := newCosignatureVerifier(req.WitnessVkey)
	if err != nil {
		fail("witness vkey", err)
		return
	}
	n, err := note.Open([]byte(req.Checkpoint), note.VerifierList(logVerifier, witness))
	if err != nil {
		fail("note.Open(checkpoint)", err)
	} else {
		rep.CheckpointText = n.Text
		for _, sig := range n.Sigs {
			rep.VerifiedBy = append(rep.VerifiedBy, fmt.Sprintf("%s+%08x", sig.Name, sig.Hash))
		}
	}

	root, err := tlog.ParseHash(req.Root)
	if err != nil {
		fail("root", err)
		return
	}
	for _, c := range req.Inclusion {
		proof, err := hashes(c.Proof)
		leaf, err2 := tlog.ParseHash(c.Leaf)
		if err == nil {
			err = err2
		}
		if err == nil {
			err = tlog.CheckRecord(proof, req.Size, root, c.Index, leaf)
		}
		rep.InclusionErrors = append(rep.InclusionErrors, errorText(err))
	}
	for _, c := range req.Consistency {
		proof, err := hashes(c.Proof)
		root1, err2 := tlog.ParseHash(c.Root1)
		if err == nil {
			err = err2
		}
		if err == nil {
			err = tlog.CheckTree(proof, req.Size, root, c.Size1, root1)
		}
		rep.ConsistencyErrors = append(rep.ConsistencyErrors, errorText(err))
	}

	tiles := &c2spTiles{dir: req.TilesDir}
	reader := tlog.TileHashReader(tlog.Tree{N: req.Size, Hash: root}, tiles)
	th, err := tlog.TreeHash(req.Size, reader)
	if err != nil {
		fail("tlog.TreeHash from tiles", err)
	} else {
		rep.TreeHashFromTiles = th.String()
	}
	for _, c := range req.Inclusion {
		proof, err := tlog.ProveRecord(req.Size, c.Index, reader)
		if err != nil {
			fail("tlog.ProveRecord from tiles", err)
			continue
		}
		var encoded []string
		for _, h := range proof {
			encoded = append(encoded, h.String())
		}
		rep.ProofsFromTiles = append(rep.ProofsFromTiles, encoded)
	}
	rep.TilesRead = tiles.read

	signer, err := note.NewSigner(req.PrivateKey)
	if err != nil {
		fail("note.NewSigner(our private key)", err)
	} else if msg, err := note.Sign(&note.Note{Text: req.TextToSign}, signer); err != nil {
		fail("note.Sign", err)
	} else {
		rep.SignedWithOurKey = string(msg)
	}

	skey, vkey, err := note.GenerateKey(rand.Reader, "go.example/interop")
	if err != nil {
		fail("note.GenerateKey", err)
		return
	}
	goSigner, err := note.NewSigner(skey)
	if err != nil {
		fail("note.NewSigner(Go's key)", err)
		return
	}
	msg, err := note.Sign(&note.Note{Text: "signed in Go\n"}, goSigner)
	if err != nil {
		fail("note.Sign(Go's key)", err)
		return
	}
	rep.GoVkey, rep.GoNote = vkey, string(msg)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func main() {
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rep := report{Errors: []string{}}
	run(req, &rep)
	out, _ := json.MarshalIndent(rep, "", "  ")
	os.Stdout.Write(append(out, '\n'))
}
