package credential

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode/utf8"
)

// MaxDepth is the deepest CBOR nesting RTC1 allows (arrays and maps; tags do
// not count; the outermost container is level 1), checked separately for the
// COSE structure, the protected header and the payload.
const MaxDepth = 16

// CBOR major types.
const (
	majorUint   = 0
	majorNeg    = 1
	majorBytes  = 2
	majorText   = 3
	majorArray  = 4
	majorMap    = 5
	majorTag    = 6
	majorSimple = 7
)

// Values the decoder produces besides uint64 (major type 0), int64 (major
// type 1 within int64), []byte, string, []any, map[any]any, bool, nil and
// float64. None of them is a type that the schema accepts anywhere, so a
// value of one of these types where the format defines a value is simply of
// the wrong type (MALFORMED).
type (
	// negBig is a negative integer below math.MinInt64: -1 - uint64(n).
	negBig uint64
	// tagged is a tagged value: the outermost tag number, whether more tags
	// follow it, and the value under all tags. Tags are kept, never
	// interpreted: a tagged value is never mistaken for its content.
	tagged struct {
		Number  uint64
		Nested  bool
		Content any
	}
	// simpleValue is a simple value other than false, true, null.
	simpleValue uint8
)

func (n negBig) String() string { return fmt.Sprintf("-1-%d", uint64(n)) }

// undefined is the simple value 23.
const undefined = simpleValue(23)

// decoder walks RTC1 CBOR strictly: one well-formed data item with definite
// lengths only, nesting depth at most max (tags do not count), valid UTF-8
// text, no map key that is an array or a map (tagged or not), and no
// duplicate map key, keys being compared as decoded values (so 0x06 and
// 0x18 0x06 are the same key; non-shortest heads and unsorted keys are
// otherwise accepted). Recursion is bounded by max: tags are read in a loop.
// Every error wraps ErrMalformed.
//
// Duplicate keys are found through a canonical encoding of each key (the
// shortest head, floats widened to 64 bits with one NaN) kept on a stack
// shared by the nested maps being read.
type decoder struct {
	b    []byte
	i    int
	max  int
	keys []byte   // canonical encodings of the keys of the maps being read
	offs []uint32 // start of each key in keys
}

func newDecoder(b []byte, maxDepth int) *decoder { return &decoder{b: b, max: maxDepth} }

// keyStack is the key stack of a decoder, kept for the next one.
type keyStack struct {
	keys []byte
	offs []uint32
}

// keyStacks recycles key stacks: a code's three walks (COSE structure,
// protected header, payload) would otherwise allocate theirs each time.
var keyStacks = sync.Pool{New: func() any { return new(keyStack) }}

// pooledDecoder is newDecoder with a recycled key stack, which release
// gives back.
func pooledDecoder(b []byte, maxDepth int) (decoder, *keyStack) {
	ks := keyStacks.Get().(*keyStack)
	return decoder{b: b, max: maxDepth, keys: ks.keys[:0], offs: ks.offs[:0]}, ks
}

// release gives d's key stack back to ks and ks to the pool; d must not
// be used after.
func (d *decoder) release(ks *keyStack) {
	if cap(d.keys) <= 1<<12 && cap(d.offs) <= 1<<10 {
		ks.keys, ks.offs = d.keys[:0], d.offs[:0]
	}
	d.keys, d.offs = nil, nil
	keyStacks.Put(ks)
}

func (d *decoder) errf(format string, args ...any) error {
	return fmt.Errorf("%w: cbor: "+format, append([]any{ErrMalformed}, args...)...)
}

// head reads one initial byte and its argument. For major type 7 with
// additional information 25–27, val holds the float's bits.
func (d *decoder) head() (major, ai byte, val uint64, err error) {
	if d.i >= len(d.b) {
		return 0, 0, 0, d.errf("truncated at byte %d", d.i)
	}
	ib := d.b[d.i]
	major, ai = ib>>5, ib&0x1f
	d.i++
	switch {
	case ai < 24:
		val = uint64(ai)
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(d.b)-d.i < n {
			return 0, 0, 0, d.errf("truncated head at byte %d", d.i-1)
		}
		switch n {
		case 1:
			val = uint64(d.b[d.i])
		case 2:
			val = uint64(binary.BigEndian.Uint16(d.b[d.i:]))
		case 4:
			val = uint64(binary.BigEndian.Uint32(d.b[d.i:]))
		case 8:
			val = binary.BigEndian.Uint64(d.b[d.i:])
		}
		d.i += n
	case ai == 31:
		return 0, 0, 0, d.errf("indefinite length or break at byte %d", d.i-1)
	default:
		return 0, 0, 0, d.errf("reserved additional information at byte %d", d.i-1)
	}
	if major == majorSimple && ai == 24 && val < 32 {
		return 0, 0, 0, d.errf("invalid simple value encoding at byte %d", d.i-2)
	}
	return major, ai, val, nil
}

// str returns the content of a byte or text string of n bytes (aliasing
// the input). Text must be valid UTF-8.
func (d *decoder) str(major byte, n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.i) {
		return nil, d.errf("string of %d bytes overruns input at byte %d", n, d.i)
	}
	s := d.b[d.i : d.i+int(n)]
	d.i += int(n)
	if major == majorText && !utf8.Valid(s) {
		return nil, d.errf("invalid UTF-8 in text at byte %d", d.i-int(n))
	}
	return s, nil
}

// container checks a container head of n items (pairs for maps) at nesting
// level depth+1.
func (d *decoder) container(major byte, n uint64, depth int) error {
	if depth+1 > d.max {
		return d.errf("nesting deeper than %d", d.max)
	}
	remaining := uint64(len(d.b) - d.i)
	if major == majorMap {
		if n > remaining/2 {
			return d.errf("map of %d pairs overruns input", n)
		}
	} else if n > remaining {
		return d.errf("array of %d items overruns input", n)
	}
	return nil
}

// value reads one data item enclosed in depth containers. With build false
// it only checks the item (no allocation but for the key stack) and returns
// nil. Built maps keep only their integer keys (uint64 or int64), the only
// keys the format defines; the other keys are checked and dropped.
func (d *decoder) value(depth int, build bool) (any, error) {
	major, ai, val, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case majorUint:
		if !build {
			return nil, nil
		}
		return val, nil
	case majorNeg:
		if !build {
			return nil, nil
		}
		if val > math.MaxInt64 {
			return negBig(val), nil
		}
		return -1 - int64(val), nil
	case majorBytes, majorText:
		s, err := d.str(major, val)
		if err != nil || !build {
			return nil, err
		}
		if major == majorText {
			return string(s), nil
		}
		return s, nil
	case majorArray:
		if err := d.container(major, val, depth); err != nil {
			return nil, err
		}
		var arr []any
		if build {
			arr = make([]any, 0, val)
		}
		for k := uint64(0); k < val; k++ {
			v, err := d.value(depth+1, build)
			if err != nil {
				return nil, err
			}
			if build {
				arr = append(arr, v)
			}
		}
		return arr, nil
	case majorMap:
		if err := d.container(major, val, depth); err != nil {
			return nil, err
		}
		var m map[any]any
		if build {
			m = make(map[any]any, min(val, 64))
		}
		mark := d.beginKeys()
		for k := uint64(0); k < val; k++ {
			key, err := d.key()
			if err != nil {
				return nil, err
			}
			v, err := d.value(depth+1, build)
			if err != nil {
				return nil, err
			}
			if build && key != nil {
				m[key] = v
			}
		}
		if err := d.endKeys(mark); err != nil {
			return nil, err
		}
		return m, nil
	case majorTag:
		t := tagged{Number: val}
		for d.i < len(d.b) && d.b[d.i]>>5 == majorTag {
			if _, _, _, err := d.head(); err != nil {
				return nil, err
			}
			t.Nested = true
		}
		c, err := d.value(depth, build)
		if err != nil || !build {
			return nil, err
		}
		t.Content = c
		return t, nil
	}
	// majorSimple
	if !build {
		return nil, nil
	}
	switch ai {
	case 20:
		return false, nil
	case 21:
		return true, nil
	case 22:
		return nil, nil
	case 25:
		return halfToFloat(uint16(val)), nil
	case 26:
		return float64(math.Float32frombits(uint32(val))), nil
	case 27:
		return math.Float64frombits(val), nil
	}
	return simpleValue(val), nil
}

// beginKeys starts the key set of a map and returns its mark.
func (d *decoder) beginKeys() int { return len(d.offs) }

// key reads a map key, appends its canonical encoding to the key stack and
// returns it when it is an untagged integer (uint64 or int64), else nil. A
// key that is an array or a map, tagged or not, is an error.
func (d *decoder) key() (any, error) {
	u, neg, isInt, err := d.intKey()
	switch {
	case err != nil || !isInt:
		return nil, err
	case neg:
		return -1 - int64(u), nil
	}
	return u, nil
}

// keyOf is key for the typed decoding: the key when it is an untagged
// integer within int64 (the only keys the format defines).
func (d *decoder) keyOf() (k int64, ok bool, err error) {
	u, neg, isInt, err := d.intKey()
	switch {
	case err != nil || !isInt:
		return 0, false, err
	case neg:
		return -1 - int64(u), true, nil
	case u > math.MaxInt64:
		return 0, false, nil
	}
	return int64(u), true, nil
}

// intKey reads a map key and appends its canonical encoding to the key
// stack. isInt reports an untagged integer: u itself when neg is false,
// -1-u when neg is true (then u ≤ math.MaxInt64: a key below math.MinInt64
// is no integer the format could mean, so not isInt). A key that is an
// array or a map, tagged or not, is an error.
func (d *decoder) intKey() (u uint64, neg, isInt bool, err error) {
	if len(d.keys) > math.MaxUint32 {
		return 0, false, false, d.errf("too many map keys")
	}
	d.offs = append(d.offs, uint32(len(d.keys)))
	isTagged := false
	for {
		major, ai, val, err := d.head()
		if err != nil {
			return 0, false, false, err
		}
		switch major {
		case majorTag:
			d.keys = appendHead(d.keys, majorTag, val)
			isTagged = true
			continue
		case majorArray, majorMap:
			return 0, false, false, d.errf("map key is an array or a map at byte %d", d.i-1)
		case majorBytes, majorText:
			s, err := d.str(major, val)
			if err != nil {
				return 0, false, false, err
			}
			d.keys = append(appendHead(d.keys, major, uint64(len(s))), s...)
			return 0, false, false, nil
		case majorSimple:
			if ai >= 25 {
				f := floatBits(ai, val)
				if f != f { // every NaN is the same key
					f = math.NaN()
				}
				d.keys = binary.BigEndian.AppendUint64(append(d.keys, 0xfb), math.Float64bits(f))
			} else {
				d.keys = appendHead(d.keys, majorSimple, val)
			}
			return 0, false, false, nil
		}
		d.keys = appendHead(d.keys, major, val)
		switch {
		case isTagged:
			return 0, false, false, nil
		case major == majorUint:
			return val, false, true, nil
		case val > math.MaxInt64:
			return 0, false, false, nil
		}
		return val, true, true, nil
	}
}

// endKeys checks the keys read since mark for duplicates and pops them.
func (d *decoder) endKeys(mark int) error {
	offs := d.offs[mark:]
	n := len(offs)
	keyAt := func(j int) []byte {
		end := len(d.keys)
		if j+1 < n {
			end = int(offs[j+1])
		}
		return d.keys[offs[j]:end]
	}
	var dup []byte
	if n > 1 && n <= 16 {
	pairs:
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				if bytes.Equal(keyAt(a), keyAt(b)) {
					dup = keyAt(a)
					break pairs
				}
			}
		}
	} else if n > 16 {
		// Keys 0–255 (the format's) are told apart by a bitmap; any
		// others are sorted.
		var small [4]uint64
		var idx []int32
		for j := 0; j < n && dup == nil; j++ {
			k := keyAt(j)
			v, ok := smallUint(k)
			if !ok {
				idx = append(idx, int32(j))
				continue
			}
			if small[v>>6]&(1<<(v&63)) != 0 {
				dup = k
			}
			small[v>>6] |= 1 << (v & 63)
		}
		if dup == nil {
			dup = dupSorted(idx, keyAt)
		}
	}
	if dup != nil {
		return d.errf("duplicate map key %x", dup)
	}
	if n > 0 {
		d.keys = d.keys[:offs[0]]
	}
	d.offs = d.offs[:mark]
	return nil
}

// smallUint returns the value of a canonical key encoding that is an
// unsigned integer below 256.
func smallUint(k []byte) (byte, bool) {
	switch {
	case len(k) == 1 && k[0] < 24:
		return k[0], true
	case len(k) == 2 && k[0] == majorUint<<5|24:
		return k[1], true
	}
	return 0, false
}

// dupSorted returns a key that occurs twice among the keys idx names, or nil.
func dupSorted(idx []int32, keyAt func(int) []byte) []byte {
	slices.SortFunc(idx, func(a, b int32) int { return bytes.Compare(keyAt(int(a)), keyAt(int(b))) })
	for j := 1; j < len(idx); j++ {
		if bytes.Equal(keyAt(int(idx[j-1])), keyAt(int(idx[j]))) {
			return keyAt(int(idx[j]))
		}
	}
	return nil
}

// end reports trailing bytes.
func (d *decoder) end() error {
	if d.i != len(d.b) {
		return d.errf("%d trailing bytes", len(d.b)-d.i)
	}
	return nil
}

// peekMajor returns the major type of the next item without consuming it.
func (d *decoder) peekMajor() (byte, bool) {
	if d.i >= len(d.b) {
		return 0, false
	}
	return d.b[d.i] >> 5, true
}

// appendHead appends a CBOR head in its shortest form.
func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

func floatBits(ai byte, val uint64) float64 {
	switch ai {
	case 25:
		return halfToFloat(uint16(val))
	case 26:
		return float64(math.Float32frombits(uint32(val)))
	}
	return math.Float64frombits(val)
}

// halfToFloat converts an IEEE 754 half-precision value.
func halfToFloat(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var v float64
	switch exp {
	case 0:
		v = math.Ldexp(mant, -24)
	case 31:
		if mant == 0 {
			v = math.Inf(1)
		} else {
			v = math.NaN()
		}
	default:
		v = math.Ldexp(mant+1024, exp-25)
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return v
}

// decodeItem decodes b, which must hold exactly one data item within the
// depth limit, into generic values (see decoder.value).
func decodeItem(b []byte, maxDepth int) (any, error) {
	d := newDecoder(b, maxDepth)
	v, err := d.value(0, true)
	if err != nil {
		return nil, err
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return v, nil
}

// checkCBOR reports whether b holds exactly one data item that the decoder
// accepts: well formed, definite lengths only, depth at most maxDepth, valid
// UTF-8, no duplicate or container map keys. Errors wrap ErrMalformed.
func checkCBOR(b []byte, maxDepth int) error {
	d := newDecoder(b, maxDepth)
	if _, err := d.value(0, false); err != nil {
		return err
	}
	return d.end()
}
