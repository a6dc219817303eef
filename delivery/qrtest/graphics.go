package qrtest

import (
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
)

// The images the terminal graphics protocols carry, read back from the
// bytes a program wrote, without the encoders' code: written from the
// protocols' descriptions (kitty's graphics protocol, iTerm2's inline
// images, DEC's sixel format).

// KittyImage is one image transmitted with the kitty graphics protocol.
type KittyImage struct {
	Options map[string]string // the first chunk's keys (a, f, i, c, r, …)
	Data    []byte            // the payload, base64-decoded and joined
}

// KittyImages collects the kitty graphics commands (ESC _ G … ESC \) in s:
// chunked transmissions (m=1 … m=0) are joined into one image, and other
// commands (deletions, queries) are returned without data.
func KittyImages(s string) ([]KittyImage, error) {
	var out []KittyImage
	var cur *KittyImage
	var payload strings.Builder
	for {
		i := strings.Index(s, "\x1b_G")
		if i < 0 {
			break
		}
		end := strings.Index(s[i:], "\x1b\\")
		if end < 0 {
			return nil, errors.New("unterminated kitty graphics command")
		}
		body := s[i+3 : i+end]
		s = s[i+end+2:]
		ctrl, data, _ := strings.Cut(body, ";")
		opts := map[string]string{}
		for _, kv := range strings.Split(ctrl, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return nil, fmt.Errorf("kitty graphics key %q without a value", kv)
			}
			opts[k] = v
		}
		if cur == nil {
			cur = &KittyImage{Options: opts}
		}
		payload.WriteString(data)
		if opts["m"] == "1" {
			continue
		}
		if payload.Len() > 0 {
			raw, err := base64.StdEncoding.DecodeString(payload.String())
			if err != nil {
				return nil, fmt.Errorf("kitty graphics payload: %w", err)
			}
			cur.Data = raw
		}
		out = append(out, *cur)
		cur = nil
		payload.Reset()
	}
	if cur != nil {
		return nil, errors.New("a chunked kitty transmission has no last chunk (m=0)")
	}
	return out, nil
}

// ITerm2Image is one OSC 1337 File= image.
type ITerm2Image struct {
	Args map[string]string // inline, width, height, …
	Data []byte
}

// ITerm2Images collects the iTerm2 inline images (ESC ] 1337 ; File=args :
// base64 BEL or ST) in s.
func ITerm2Images(s string) ([]ITerm2Image, error) {
	var out []ITerm2Image
	for {
		i := strings.Index(s, "\x1b]1337;File=")
		if i < 0 {
			return out, nil
		}
		s = s[i+len("\x1b]1337;File="):]
		end := strings.IndexAny(s, "\a\x1b")
		if end < 0 {
			return nil, errors.New("unterminated iTerm2 image")
		}
		body := s[:end]
		s = s[end:]
		args, data, ok := strings.Cut(body, ":")
		if !ok {
			return nil, errors.New("iTerm2 image without data")
		}
		img := ITerm2Image{Args: map[string]string{}}
		for _, kv := range strings.Split(args, ";") {
			k, v, _ := strings.Cut(kv, "=")
			img.Args[k] = v
		}
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return nil, fmt.Errorf("iTerm2 image data: %w", err)
		}
		img.Data = raw
		out = append(out, img)
	}
}

// SixelImages decodes the sixel images (ESC P … q … ESC \) in s. Colours
// are registers set with #n;2;r;g;b (percentages) or #n;1;h;l;s (HLS,
// only grey levels are needed here: h and s 0); a pixel never painted is
// left transparent (zero).
func SixelImages(s string) ([]*image.RGBA, error) {
	var out []*image.RGBA
	for {
		i := strings.Index(s, "\x1bP")
		if i < 0 {
			return out, nil
		}
		end := strings.Index(s[i:], "\x1b\\")
		if end < 0 {
			return nil, errors.New("unterminated DCS")
		}
		body := s[i+2 : i+end]
		s = s[i+end+2:]
		q := strings.IndexByte(body, 'q')
		if q < 0 || strings.Trim(body[:q], "0123456789;") != "" {
			continue // another DCS
		}
		img, err := decodeSixel(body[q+1:])
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
}

func decodeSixel(data string) (*image.RGBA, error) {
	type px struct {
		x, y int
		c    color.RGBA
	}
	var pixels []px
	regs := map[int]color.RGBA{}
	cur := color.RGBA{0, 0, 0, 255}
	x, band, w, h := 0, 0, 0, 0
	num := func(i int) (int, int) {
		j := i
		for j < len(data) && data[j] >= '0' && data[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(data[i:j])
		return n, j
	}
	params := func(i int) ([]int, int) {
		var ps []int
		for {
			n, j := num(i)
			ps = append(ps, n)
			if j < len(data) && data[j] == ';' {
				i = j + 1
				continue
			}
			return ps, j
		}
	}
	paint := func(v byte, count int) {
		bits := int(v) - '?'
		for k := 0; k < count; k++ {
			for b := 0; b < 6; b++ {
				if bits&(1<<b) != 0 {
					pixels = append(pixels, px{x, band*6 + b, cur})
					w, h = max(w, x+1), max(h, band*6+b+1)
				}
			}
			x++
		}
	}
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			ps, j := params(i + 1)
			if len(ps) == 4 {
				w, h = max(w, ps[2]), max(h, ps[3])
			}
			i = j
		case c == '#':
			ps, j := params(i + 1)
			switch {
			case len(ps) == 1:
				col, ok := regs[ps[0]]
				if !ok {
					return nil, fmt.Errorf("sixel colour register %d used before it is set", ps[0])
				}
				cur = col
			case len(ps) == 5 && ps[1] == 2:
				pct := func(v int) uint8 { return uint8((v*255 + 50) / 100) }
				regs[ps[0]] = color.RGBA{pct(ps[2]), pct(ps[3]), pct(ps[4]), 255}
				cur = regs[ps[0]]
			case len(ps) == 5 && ps[1] == 1 && ps[4] == 0:
				l := uint8((ps[3]*255 + 50) / 100)
				regs[ps[0]] = color.RGBA{l, l, l, 255}
				cur = regs[ps[0]]
			default:
				return nil, fmt.Errorf("sixel colour %v not understood", ps)
			}
			i = j
		case c == '!':
			n, j := num(i + 1)
			if j >= len(data) || data[j] < '?' || data[j] > '~' {
				return nil, errors.New("sixel repeat without a sixel")
			}
			paint(data[j], n)
			i = j + 1
		case c == '$':
			x = 0
			i++
		case c == '-':
			x = 0
			band++
			i++
		case c >= '?' && c <= '~':
			paint(c, 1)
			i++
		case c == '\r' || c == '\n':
			i++
		default:
			return nil, fmt.Errorf("unexpected byte %q in sixel data", c)
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for _, p := range pixels {
		img.SetRGBA(p.x, p.y, p.c)
	}
	return img, nil
}

// Flatten draws img over a background of grey level bg: what a terminal with a light or dark
// background shows of an image whose every pixel is painted is the image
// itself; a transparent pixel would show the background.
func Flatten(img image.Image, bg color.Gray) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := img.At(x, y).RGBA()
			if a == 0 {
				out.SetGray(x, y, bg)
				continue
			}
			out.SetGray(x, y, color.Gray{uint8((299*(r>>8) + 587*(g>>8) + 114*(bb>>8)) / 1000)})
		}
	}
	return out
}
