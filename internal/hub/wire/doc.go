// Package wire owns the protocol between terminals and the hub: the JSON
// request and response types of every endpoint, the header names, and the
// device request signature (signing string, verification), so that the
// terminal's sync client and the hub's handlers share one definition.
//
// Device requests are signed, not only sent over TLS: every request of an
// enrolled device carries its id, a millisecond timestamp, a random nonce
// and the device's SM2 signature over
//
//	RC-REQ-1 \n METHOD \n PATH?QUERY \n DEVICE \n TIME \n NONCE \n hex(SM3(BODY))
//
// The hub accepts a request only inside ReplayWindow of its own clock and
// only once per nonce. The hub's time is returned in HeaderHubTime of every
// response, so a terminal whose clock is off can sign with the hub's time.
package wire
