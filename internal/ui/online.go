package ui

import (
	"fyne.io/fyne/v2"

	"github.com/roadcheck/roadcheck/internal/verify"
)

// hubPresence is implemented by a Deps.Online that can tell, without the
// network, whether there is a hub to ask (*terminal.SyncService).
type hubPresence interface{ HasHub() bool }

// confirmOnline asks the hub (Deps.Online) about the check c that was just
// put on screen, when its verification reached the status step. The
// offline verdict is already shown; the verdict screen says the hub is
// being asked (保存 waits, at most verify.OnlineBudget) and shows the
// answer when it arrives, or that none came. Runs on fyne's goroutine.
func (a *App) confirmOnline(c *checkState) {
	checker := a.deps.Online
	if checker == nil || c == nil || !c.res.ReachedStatus() {
		return
	}
	if h, ok := checker.(hubPresence); ok && !h.HasHub() {
		return // not enrolled, or locked: nothing to ask, nothing to show
	}
	c.onlinePending = true
	if c.shown != nil {
		c.shown.setOnline(a.cat, c.res, true)
	}
	ctx, res := a.ctx, c.res
	a.async(func() {
		out := verify.Confirm(ctx, checker, res, 0)
		fyne.Do(func() { a.onlineDone(c, out) })
	})
}

// onlineDone applies the online confirmation out of check c. When the
// officer has moved on (another code, 下一个, sign-out) it is dropped: that
// check was not recorded (保存 waits for the answer). Otherwise the check's
// result becomes out, in place: the roadside stop holds the same
// *verify.Result, so its cross-check and view follow (fyne's goroutine is
// the only one reading it now; Confirm copied what it needed before).
func (a *App) onlineDone(c *checkState, out *verify.Result) {
	c.onlinePending = false
	if a.check != c {
		return
	}
	*c.res = *out
	if c.shown != nil {
		c.shown.update(a.cat, c.res)
	}
	if out.Online.Finding() != 0 {
		a.renderStop()
	}
}
