//go:build linux

package hubcmd

import (
	"net"
	"syscall"
)

func peerAllowed(c net.Conn, uid int) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	allowed := false
	raw.Control(func(fd uintptr) {
		cred, err := syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
		allowed = err == nil && (int(cred.Uid) == uid || cred.Uid == 0)
	})
	return allowed
}
