//go:build unix

package hubcmd

import (
	"net"
	"os"
	"syscall"
)

func umask(m int) int { return syscall.Umask(m) }

// peerChecked accepts only connections from this process's user or root
// (SO_PEERCRED on Linux; elsewhere the socket's mode alone decides).
func peerChecked(ln net.Listener) net.Listener { return &peerListener{Listener: ln} }

type peerListener struct{ net.Listener }

func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if peerAllowed(c, os.Getuid()) {
			return c, nil
		}
		c.Close()
	}
}
