// Package qrcode owns turning text into a QR symbol: the symbol's version at
// a given error-correction level and a crisp black-on-white image of it, for
// demo codes, test corpora and on-screen display. Reading QR codes from
// camera images is package scan's job.
package qrcode
