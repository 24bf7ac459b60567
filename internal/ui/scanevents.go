package ui

import (
	"bufio"
	"bytes"
	"context"
	hexenc "encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/gm"
)

// ScanEvent is a scan that established nothing about a licence (a read
// failure, a code that is not an RTC code, a newer format, a cut scanner
// burst, or the terminal's own failure): it gets no check record (there is
// no licence to record), but it is not lost either. The scanned text is
// never kept: it may be anything, personal data included. Digest (SM3 of
// the text, first 16 bytes in hex) tells repeats of the same code apart.
//
// The records package has no scan event type yet; until it has one the GUI
// keeps these in its own small log (ScanEventLog).
type ScanEvent struct {
	At      time.Time `json:"at"`
	Officer string    `json:"officer"`
	Device  string    `json:"device,omitempty"`
	StopID  string    `json:"stop,omitempty"`
	// Outcome is unreadable, not_rtc, needs_update, cut or fault.
	Outcome string `json:"outcome"`
	// Source is how the text came in: scanner, camera, image, paste,
	// typed or sample.
	Source string `json:"source,omitempty"`
	Length int    `json:"length"`
	Digest string `json:"digest,omitempty"`
}

// ScanEventLog keeps scan events: in memory, and appended as JSON lines
// to a file when it has a path (mode 0600). It is safe for concurrent use.
// A damaged line in the file is skipped when reading, never fatal: the log
// is an aid for supervisors, not evidence.
type ScanEventLog struct {
	path   string
	mu     sync.Mutex
	events []ScanEvent
}

// ScanEventsFile is the scan event log's file name for the database at
// dbPath: beside it, named from it.
func ScanEventsFile(dbPath string) string { return dbPath + ".scans" }

// OpenScanEventLog reads the log at path ("" = in memory only); a missing
// file is an empty log.
func OpenScanEventLog(path string) (*ScanEventLog, error) {
	l := &ScanEventLog{path: path}
	if path == "" {
		return l, nil
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("ui: scan event log: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var ev ScanEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil && !ev.At.IsZero() {
			l.events = append(l.events, ev)
		}
	}
	return l, nil
}

// Add appends ev (and writes it to the file, synced, when the log has one).
func (l *ScanEventLog) Add(ctx context.Context, ev ScanEvent) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
	if l.path == "" {
		return nil
	}
	line, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("ui: scan event log: %w", err)
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("ui: scan event log: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ui: scan event log: %w", err)
	}
	return nil
}

// List returns a copy of the events, oldest first.
func (l *ScanEventLog) List() []ScanEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ScanEvent(nil), l.events...)
}

// scanDigest is the first 16 bytes of the SM3 of text, in hex.
func scanDigest(text string) string {
	h := gm.SM3([]byte(text))
	return hexenc.EncodeToString(h[:16])
}
