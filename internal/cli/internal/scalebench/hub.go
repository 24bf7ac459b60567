package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roadcheck/roadcheck/internal/demo/national"
	"github.com/roadcheck/roadcheck/internal/hub/wire"
	"github.com/roadcheck/roadcheck/internal/records"
	"github.com/roadcheck/roadcheck/internal/storage"
	"github.com/roadcheck/roadcheck/internal/syncclient"
	"github.com/roadcheck/roadcheck/internal/trust"
	"github.com/roadcheck/roadcheck/internal/verify"
)

// terminal opens (creating) a terminal at db with the world's anchor.
func terminal(ctx context.Context, w *national.World, db string) (*storage.DB, *records.Store, *trust.Store, error) {
	sdb, err := storage.Open(ctx, db, storage.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	recs, err := records.Open(ctx, sdb, records.KeyFile(records.KeyFilePath(db)), records.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	ts, err := trust.New(ctx, sdb)
	if err != nil {
		return nil, nil, nil, err
	}
	anchors, err := os.ReadFile(w.AnchorsPath())
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := ts.AddAnchors(ctx, anchors); err != nil {
		return nil, nil, nil, err
	}
	return sdb, recs, ts, nil
}

// hubSync enrols a terminal (when token is set) and pulls the hub's trust
// data once, reporting time and bytes; with check, a licence revoked in
// the newest lists must verify INVALID LICENCE_REVOKED afterwards.
func hubSync(ctx context.Context, dir, db, hubURL, token, prefix string, check bool) error {
	w, err := openWorld(ctx, dir)
	if err != nil {
		return err
	}
	sdb, recs, ts, err := terminal(ctx, w, db)
	if err != nil {
		return err
	}
	defer sdb.Close()
	defer ts.Close()
	if token != "" {
		if err := syncclient.Enroll(ctx, recs, syncclient.EnrollOptions{HubURL: hubURL, Token: token}); err != nil {
			return err
		}
	}
	c, err := syncclient.New(ctx, syncclient.Config{Records: recs, Trust: ts, RetryMax: 2})
	if err != nil {
		return err
	}
	start := time.Now()
	rep, err := c.PullTrust(ctx)
	if err != nil {
		return err
	}
	el := time.Since(start)
	if len(rep.Refused) > 0 {
		return fmt.Errorf("%d objects refused, e.g. %+v", len(rep.Refused), rep.Refused[0])
	}
	v := verify.New(ts, nil, verify.DefaultPolicy())
	for _, l := range w.Revoked(20) {
		if !check {
			break
		}
		text, err := w.Code(ctx, l.Issuer, l.Index, now(w))
		if err != nil {
			return err
		}
		res := v.Verify(ctx, text, now(w))
		if res.Verdict != verify.Invalid || !slices.ContainsFunc(res.Reasons, func(r verify.Reason) bool {
			return r == verify.LicenceRevoked || r == verify.LicenceSuspended
		}) {
			return fmt.Errorf("licence %s revoked in the world verifies %s %v after the pull", l.ID(), res.Verdict, res.Reasons)
		}
	}
	figure(prefix+"_sync_time", el.Seconds(), "s")
	figure(prefix+"_sync_mb", float64(rep.Bytes)/1e6, "MB")
	figure(prefix+"_sync_objects", float64(rep.Fetched), "")
	return nil
}

// rssOf reads a process's resident set in MiB.
func rssOf(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// hubMany enrols n terminals and has them all download every object of the
// hub's manifest at once (the bytes are discarded: the figure is the hub's
// memory, sampled from /proc while they run).
func hubMany(ctx context.Context, dir, base, hubURL, tokensFile string, pid, n int) error {
	w, err := openWorld(ctx, dir)
	if err != nil {
		return err
	}
	tb, err := os.ReadFile(tokensFile)
	if err != nil {
		return err
	}
	tokens := strings.Fields(string(tb))
	if len(tokens) < n {
		return fmt.Errorf("%d tokens for %d terminals", len(tokens), n)
	}
	type term struct {
		c  *syncclient.Client
		db *storage.DB
	}
	terms := make([]term, n)
	for i := range terms {
		db := fmt.Sprintf("%s/t%02d.db", base, i)
		sdb, err := storage.Open(ctx, db, storage.Options{NoSync: true})
		if err != nil {
			return err
		}
		recs, err := records.Open(ctx, sdb, records.KeyFile(records.KeyFilePath(db)), records.Options{})
		if err != nil {
			return err
		}
		if err := syncclient.Enroll(ctx, recs, syncclient.EnrollOptions{HubURL: hubURL, Token: tokens[i]}); err != nil {
			return err
		}
		c, err := syncclient.New(ctx, syncclient.Config{Records: recs, RetryMax: 2})
		if err != nil {
			return err
		}
		terms[i] = term{c, sdb}
	}
	_ = w
	// The manifest, once, through the first terminal.
	var man wire.TrustManifest
	resp, err := terms[0].c.Get(ctx, "/v1/trust/manifest")
	if err != nil {
		return err
	}
	err = json.NewDecoder(resp.Body).Decode(&man)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("manifest: %d %v", resp.StatusCode, err)
	}
	var objs []string
	for _, c := range man.Certs {
		objs = append(objs, c.Digest)
	}
	for _, c := range man.CRLs {
		objs = append(objs, c.Digest)
	}
	for _, l := range man.Lists {
		objs = append(objs, l.Full.Digest)
		for _, d := range l.Deltas {
			objs = append(objs, d.Digest)
		}
	}
	idle := rssOf(pid)
	peak := idle
	stop := make(chan struct{})
	var mu sync.Mutex
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				r := rssOf(pid)
				mu.Lock()
				peak = max(peak, r)
				mu.Unlock()
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	var total int64
	errs := make(chan error, n)
	for i := range terms {
		wg.Add(1)
		go func(c *syncclient.Client) {
			defer wg.Done()
			var got int64
			for _, d := range objs {
				resp, err := c.Get(ctx, "/v1/trust/objects/"+d)
				if err != nil {
					errs <- err
					return
				}
				k, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("object %s: %d %v", d, resp.StatusCode, err)
					return
				}
				got += k
			}
			mu.Lock()
			total += got
			mu.Unlock()
		}(terms[i].c)
	}
	wg.Wait()
	close(stop)
	select {
	case err := <-errs:
		return err
	default:
	}
	el := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	figure("hub_idle_rss_mb", idle, "MiB")
	figure("hub_50_rss_mb", peak-idle, "MiB")
	figure("hub_50_total_gb", float64(total)/1e9, "GB")
	figure("hub_50_time", el.Seconds(), "s")
	return nil
}

// bundle writes a PEM trust bundle of the world to out: with day 0 every
// certificate, CRL and full list plus the deltas of days 1..upto; with
// day > 0 that day's delta lists.
func bundle(ctx context.Context, dir, out string, day, upto int) error {
	w, err := openWorld(ctx, dir)
	if err != nil {
		return err
	}
	var objs []national.Object
	for _, o := range w.Manifest().Objects {
		switch {
		case o.Type == national.TypeAnchors:
		case day > 0:
			if o.Type == national.TypeList && o.Base != 0 && o.Day == day {
				objs = append(objs, o)
			}
		case o.Type != national.TypeList || o.Base == 0 || o.Day <= upto:
			objs = append(objs, o)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := w.WriteBundle(ctx, f, objs...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
