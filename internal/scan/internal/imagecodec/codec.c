//go:build cgo && !android && !ios

#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "codec.h"

// The most scans a progressive JPEG may have (as TurboJPEG's
// TJFLAG_LIMITSCANS): each scan is a pass over the whole coefficient
// buffer, so a file of many tiny scans costs minutes.
#define RC_MAX_SCANS 500

static int rc_cancelled(const volatile int *cancel) {
	return cancel != NULL && __atomic_load_n(cancel, __ATOMIC_RELAXED) != 0;
}

static void rc_setmsg(char *msg, size_t msglen, const char *text) {
	if (msglen > 0) {
		snprintf(msg, msglen, "%s", text);
	}
}

// ---- JPEG (libjpeg-turbo) ----

typedef struct {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	int code;
	const volatile int *cancel;
	char *msg;
	size_t msglen;
} rc_jerr;

// rc_jfail records the first failure and jumps back to rc_jpeg_grey.
static void rc_jfail(j_common_ptr c, int code) {
	rc_jerr *e = (rc_jerr *)c->err;
	if (e->code == RC_OK) {
		char buf[JMSG_LENGTH_MAX];
		(*c->err->format_message)(c, buf);
		e->code = code;
		rc_setmsg(e->msg, e->msglen, buf);
	}
	longjmp(e->jb, 1);
}

static void rc_jerror_exit(j_common_ptr c) {
	switch (c->err->msg_code) {
	case JERR_OUT_OF_MEMORY:
	case JERR_NO_BACKING_STORE: { // a whole-image buffer over max_memory_to_use
		rc_jerr *e = (rc_jerr *)c->err;
		if (e->code == RC_OK) {
			e->code = RC_TOO_LARGE;
			if (e->msglen > 0) {
				snprintf(e->msg, e->msglen, "its whole-image buffers need more than %.1f MiB",
					(double)c->mem->max_memory_to_use / (1 << 20));
			}
		}
		longjmp(e->jb, 1);
	}
	case JERR_INPUT_EOF:
		rc_jfail(c, RC_TRUNCATED);
		break;
	default:
		rc_jfail(c, RC_CORRUPT);
	}
}

// rc_jemit turns the warnings that mean missing or damaged image data into
// errors (libjpeg would go on and paint grey); the others (extraneous bytes
// between markers, unknown JFIF versions) are ignored, as image/jpeg does.
static void rc_jemit(j_common_ptr c, int level) {
	if (level >= 0) {
		return; // trace messages
	}
	switch (c->err->msg_code) {
	case JWRN_JPEG_EOF:
		rc_jfail(c, RC_TRUNCATED);
		break;
	case JWRN_HIT_MARKER:
	case JWRN_HUFF_BAD_CODE:
	case JWRN_ARITH_BAD_CODE:
	case JWRN_MUST_RESYNC:
	case JWRN_NOT_SEQUENTIAL:
	case JWRN_BOGUS_PROGRESSION:
		rc_jfail(c, RC_CORRUPT);
		break;
	default:
		c->err->num_warnings++;
	}
}

static void rc_joutput(j_common_ptr c) { (void)c; } // never to stderr

static void rc_jprogress(j_common_ptr c) {
	rc_jerr *e = (rc_jerr *)c->err;
	if (rc_cancelled(e->cancel)) {
		e->code = RC_CANCELLED;
		rc_setmsg(e->msg, e->msglen, "cancelled");
		longjmp(e->jb, 1);
	}
	if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > RC_MAX_SCANS) {
		e->code = RC_TOO_LARGE;
		if (e->msglen > 0) {
			snprintf(e->msg, e->msglen, "progressive JPEG with more than %d scans", RC_MAX_SCANS);
		}
		longjmp(e->jb, 1);
	}
}

typedef struct {
	struct jpeg_decompress_struct ci;
	struct jpeg_progress_mgr prog;
	rc_jerr err;
} rc_jstate;

// rc_jdone releases st and returns code.
static int rc_jdone(rc_jstate *st, int code) {
	jpeg_destroy_decompress(&st->ci);
	free(st);
	return code;
}

int rc_jpeg_grey(const unsigned char *data, size_t len, int scale,
		unsigned char *out, int ow, int oh, size_t max_mem,
		const volatile int *cancel, char *msg, size_t msglen) {
	rc_setmsg(msg, msglen, "");
	if (scale < 1 || scale > 8 || ow < 1 || oh < 1 || max_mem > LONG_MAX || len > ULONG_MAX) {
		rc_setmsg(msg, msglen, "bad arguments");
		return RC_CORRUPT;
	}
	// The state lives on the heap: locals changed between setjmp and
	// longjmp would be indeterminate after the jump.
	rc_jstate *const st = calloc(1, sizeof *st);
	if (st == NULL) {
		rc_setmsg(msg, msglen, "out of memory");
		return RC_TOO_LARGE;
	}
	struct jpeg_decompress_struct *const ci = &st->ci;
	ci->err = jpeg_std_error(&st->err.pub);
	st->err.pub.error_exit = rc_jerror_exit;
	st->err.pub.emit_message = rc_jemit;
	st->err.pub.output_message = rc_joutput;
	st->err.cancel = cancel;
	st->err.msg = msg;
	st->err.msglen = msglen;
	if (setjmp(st->err.jb)) {
		return rc_jdone(st, st->err.code != RC_OK ? st->err.code : RC_CORRUPT);
	}
	jpeg_create_decompress(ci);
	ci->mem->max_memory_to_use = (long)max_mem;
	st->prog.progress_monitor = rc_jprogress;
	ci->progress = &st->prog;
	jpeg_mem_src(ci, data, (unsigned long)len);
	jpeg_read_header(ci, TRUE);
	switch (ci->jpeg_color_space) {
	case JCS_GRAYSCALE:
	case JCS_YCbCr:
	case JCS_RGB:
		break;
	default: // CMYK, YCCK: libjpeg has no conversion to grey
		rc_setmsg(msg, msglen, "colour space without a grey conversion");
		return rc_jdone(st, RC_UNSUPPORTED);
	}
	ci->out_color_space = JCS_GRAYSCALE;
	ci->scale_num = (unsigned int)scale;
	ci->scale_denom = 8;
	ci->dct_method = JDCT_ISLOW;
	jpeg_calc_output_dimensions(ci);
	if (ci->output_width != (JDIMENSION)ow || ci->output_height != (JDIMENSION)oh || ci->output_components != 1) {
		if (msglen > 0) {
			snprintf(msg, msglen, "libjpeg decodes %ux%u at %d/8, not the expected %dx%d",
				ci->output_width, ci->output_height, scale, ow, oh);
		}
		return rc_jdone(st, RC_CORRUPT);
	}
	if (ci->progressive_mode) {
		// The coefficients of the whole image stay in memory while a
		// progressive file is read (jdcoefct.c), every component's.
		unsigned long long need = 0;
		for (int i = 0; i < ci->num_components; i++) {
			const jpeg_component_info *c = &ci->comp_info[i];
			unsigned long long bw = (c->width_in_blocks + c->h_samp_factor - 1) / c->h_samp_factor * c->h_samp_factor;
			unsigned long long bh = (c->height_in_blocks + c->v_samp_factor - 1) / c->v_samp_factor * c->v_samp_factor;
			need += bw * bh * sizeof(JBLOCK);
		}
		if (need > max_mem) {
			if (msglen > 0) {
				snprintf(msg, msglen, "progressive JPEG: its coefficients take %.1f MiB",
					(double)need / (1 << 20));
			}
			return rc_jdone(st, RC_TOO_LARGE);
		}
	}
	jpeg_start_decompress(ci);
	while (ci->output_scanline < ci->output_height) {
		JSAMPROW rows[16];
		int n = 0;
		for (; n < 16 && ci->output_scanline + (JDIMENSION)n < ci->output_height; n++) {
			rows[n] = out + (size_t)(ci->output_scanline + (JDIMENSION)n) * (size_t)ow;
		}
		if (jpeg_read_scanlines(ci, rows, (JDIMENSION)n) == 0) {
			rc_setmsg(msg, msglen, "no scanline read");
			return rc_jdone(st, RC_CORRUPT);
		}
	}
	jpeg_finish_decompress(ci);
	return rc_jdone(st, RC_OK);
}

// ---- PNG (libpng) ----

typedef struct {
	jmp_buf jb;
	int code;
	char *msg;
	size_t msglen;
	const unsigned char *data;
	size_t len, pos;
	size_t mem, max_mem; // bytes allocated through rc_pmalloc, and the bound
	int mem_failed;
	png_bytep row, grey;
	png_uint_32 *acc;
} rc_png;

static void rc_perror(png_structp p, png_const_charp m) {
	rc_png *s = (rc_png *)png_get_error_ptr(p);
	if (s->code == RC_OK) {
		s->code = s->mem_failed ? RC_TOO_LARGE : RC_CORRUPT;
		rc_setmsg(s->msg, s->msglen, m);
	}
	longjmp(s->jb, 1);
}

// rc_pwarn drops warnings (they never go to stderr); an allocation that
// failed before a warning was one libpng could do without.
static void rc_pwarn(png_structp p, png_const_charp m) {
	rc_png *s = (rc_png *)png_get_error_ptr(p);
	(void)m;
	s->mem_failed = 0;
}

static void rc_pread(png_structp p, png_bytep buf, size_t n) {
	rc_png *s = (rc_png *)png_get_io_ptr(p);
	if (n > s->len - s->pos) {
		if (s->code == RC_OK) {
			s->code = RC_TRUNCATED;
			rc_setmsg(s->msg, s->msglen, "PNG ends early");
		}
		png_error(p, "PNG ends early");
	}
	memcpy(buf, s->data + s->pos, n);
	s->pos += n;
}

#define RC_HDR 16 // keeps malloc's alignment

static png_voidp rc_pmalloc(png_structp p, png_alloc_size_t n) {
	rc_png *s = (rc_png *)png_get_mem_ptr(p);
	if (n > s->max_mem - s->mem || n > SIZE_MAX - RC_HDR) {
		s->mem_failed = 1;
		return NULL;
	}
	unsigned char *b = malloc(n + RC_HDR);
	if (b == NULL) {
		s->mem_failed = 1;
		return NULL;
	}
	memcpy(b, &n, sizeof n);
	s->mem += n;
	return b + RC_HDR;
}

static void rc_pfree(png_structp p, png_voidp ptr) {
	if (ptr == NULL) {
		return;
	}
	rc_png *s = (rc_png *)png_get_mem_ptr(p);
	unsigned char *b = (unsigned char *)ptr - RC_HDR;
	png_alloc_size_t n;
	memcpy(&n, b, sizeof n);
	s->mem -= n;
	free(b);
}

// rc_grey converts n pixels of ch 8-bit channels (G, GA, RGB, RGBA) to
// luminance with the BT.601 weights of package scan, transparent pixels
// over white.
static void rc_grey(const png_byte *in, png_bytep out, png_uint_32 n, int ch) {
	switch (ch) {
	case 1:
		memcpy(out, in, n);
		break;
	case 2:
		for (png_uint_32 i = 0; i < n; i++) {
			unsigned l = in[2 * i], a = in[2 * i + 1];
			out[i] = (png_byte)((l * a + 255 * (255 - a)) / 255);
		}
		break;
	case 3:
		for (png_uint_32 i = 0; i < n; i++) {
			const png_byte *q = in + 3 * i;
			out[i] = (png_byte)((77u * q[0] + 150u * q[1] + 29u * q[2] + 128) >> 8);
		}
		break;
	default:
		for (png_uint_32 i = 0; i < n; i++) {
			const png_byte *q = in + 4 * i;
			unsigned l = (77u * q[0] + 150u * q[1] + 29u * q[2] + 128) >> 8, a = q[3];
			out[i] = (png_byte)((l * a + 255 * (255 - a)) / 255);
		}
	}
}

// rc_flush writes the means of accumulator row acc as output row oy.
static void rc_flush(png_uint_32 *acc, png_bytep out, png_uint_32 oy, png_uint_32 ow,
		png_uint_32 w, png_uint_32 h, png_uint_32 k) {
	png_uint_32 bh = h - oy * k < k ? h - oy * k : k;
	for (png_uint_32 ox = 0; ox < ow; ox++) {
		png_uint_32 bw = w - ox * k < k ? w - ox * k : k;
		png_uint_32 n = bw * bh;
		out[(size_t)oy * ow + ox] = (png_byte)((acc[ox] + n / 2) / n);
		acc[ox] = 0;
	}
}

int rc_png_grey(const unsigned char *data, size_t len, int w, int h,
		int factor, unsigned char *out, size_t max_mem,
		const volatile int *cancel, char *msg, size_t msglen) {
	rc_setmsg(msg, msglen, "");
	if (w < 1 || h < 1 || factor < 1 || factor > 4096) {
		rc_setmsg(msg, msglen, "bad arguments");
		return RC_CORRUPT;
	}
	// The state lives on the heap: locals changed between setjmp and
	// longjmp would be indeterminate after the jump.
	rc_png *const s = calloc(1, sizeof *s);
	if (s == NULL) {
		rc_setmsg(msg, msglen, "out of memory");
		return RC_TOO_LARGE;
	}
	s->msg = msg;
	s->msglen = msglen;
	s->data = data;
	s->len = len;
	s->max_mem = max_mem;
	png_uint_32 W = (png_uint_32)w, H = (png_uint_32)h, k = (png_uint_32)factor;
	png_uint_32 ow = (W + k - 1) / k, oh = (H + k - 1) / k;
	png_structp p = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, s, rc_perror, rc_pwarn,
		s, rc_pmalloc, rc_pfree);
	if (p == NULL) {
		free(s);
		rc_setmsg(msg, msglen, "cannot create a libpng reader");
		return RC_TOO_LARGE;
	}
	png_infop info = png_create_info_struct(p);
	if (info == NULL) {
		png_destroy_read_struct(&p, NULL, NULL);
		free(s);
		rc_setmsg(msg, msglen, "cannot create a libpng reader");
		return RC_TOO_LARGE;
	}
	if (setjmp(s->jb)) {
		png_free(p, s->row);
		png_free(p, s->grey);
		png_free(p, s->acc);
		png_destroy_read_struct(&p, &info, NULL);
		int code = s->code != RC_OK ? s->code : RC_CORRUPT;
		free(s);
		return code;
	}
	png_set_read_fn(p, s, rc_pread);
	png_set_user_limits(p, W, H); // the size the caller expects, no more
	png_set_chunk_cache_max(p, 128);
	png_set_chunk_malloc_max(p, 8u << 20);
	// The CRC-32 of each IDAT chunk already covers the compressed bytes;
	// zlib's Adler-32 of the inflated rows would cost a tenth of the time.
	png_set_option(p, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
	png_read_info(p, info);
	png_uint_32 iw, ih;
	int depth, ctype, ilace;
	png_get_IHDR(p, info, &iw, &ih, &depth, &ctype, &ilace, NULL, NULL);
	if (iw != W || ih != H) {
		png_error(p, "PNG size differs from its header as read before");
	}
	png_set_expand(p);   // palette to RGB, grey below 8 bits to 8, tRNS to alpha
	png_set_strip_16(p); // 16-bit samples to 8 (the high byte: cheaper than scaling)
	png_read_update_info(p, info);
	int ch = png_get_channels(p, info);
	if (png_get_bit_depth(p, info) != 8 || ch < 1 || ch > 4) {
		png_error(p, "unexpected PNG layout after transformations");
	}
	s->row = png_malloc(p, png_get_rowbytes(p, info));
	s->grey = png_malloc(p, W);
	int interlaced = ilace == PNG_INTERLACE_ADAM7;
	size_t accrows = interlaced ? oh : 1;
	if (k > 1) {
		// Interlaced rows come pass by pass, so every output row stays open
		// until the last pass; otherwise one output row at a time.
		if (accrows > (size_t)-1 / ow / sizeof(png_uint_32)) {
			png_error(p, "accumulators too large");
		}
		s->acc = png_malloc(p, accrows * ow * sizeof(png_uint_32));
		memset(s->acc, 0, accrows * ow * sizeof(png_uint_32));
	}
	int passes = interlaced ? 7 : 1;
	for (int pass = 0; pass < passes; pass++) {
		png_uint_32 pw = interlaced ? PNG_PASS_COLS(W, pass) : W;
		png_uint_32 ph = interlaced ? PNG_PASS_ROWS(H, pass) : H;
		if (pw == 0 || ph == 0) {
			continue; // libpng skips empty passes too
		}
		for (png_uint_32 j = 0; j < ph; j++) {
			if (rc_cancelled(cancel)) {
				s->code = RC_CANCELLED;
				rc_setmsg(msg, msglen, "cancelled");
				longjmp(s->jb, 1);
			}
			png_read_row(p, s->row, NULL);
			rc_grey(s->row, s->grey, pw, ch);
			png_uint_32 y = interlaced ? PNG_ROW_FROM_PASS_ROW(j, pass) : j;
			if (k == 1) {
				png_bytep o = out + (size_t)y * ow;
				if (!interlaced) {
					memcpy(o, s->grey, W);
				} else {
					for (png_uint_32 i = 0; i < pw; i++) {
						o[PNG_COL_FROM_PASS_COL(i, pass)] = s->grey[i];
					}
				}
				continue;
			}
			png_uint_32 *a = s->acc + (interlaced ? (size_t)(y / k) * ow : 0);
			if (!interlaced) {
				// Block by block: no division a pixel.
				png_uint_32 i = 0;
				for (png_uint_32 ox = 0; ox < ow; ox++) {
					png_uint_32 end = pw - i < k ? pw : i + k, sum = 0;
					for (; i < end; i++) {
						sum += s->grey[i];
					}
					a[ox] += sum;
				}
				if ((y + 1) % k == 0 || y + 1 == H) {
					rc_flush(a, out, y / k, ow, W, H, k);
				}
			} else {
				// x steps by the pass's column step; its block follows.
				png_uint_32 step = 1u << PNG_PASS_COL_SHIFT(pass);
				png_uint_32 x = PNG_PASS_START_COL(pass), ox = x / k, rem = x % k;
				for (png_uint_32 i = 0; i < pw; i++) {
					a[ox] += s->grey[i];
					for (rem += step; rem >= k; rem -= k) {
						ox++;
					}
				}
			}
		}
	}
	if (interlaced && k > 1) {
		for (png_uint_32 oy = 0; oy < oh; oy++) {
			rc_flush(s->acc + (size_t)oy * ow, out, oy, ow, W, H, k);
		}
	}
	png_read_end(p, NULL);
	png_free(p, s->row);
	png_free(p, s->grey);
	png_free(p, s->acc);
	png_destroy_read_struct(&p, &info, NULL);
	free(s);
	return RC_OK;
}
