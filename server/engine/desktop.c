/* desktop.c — renders and sends the session's desktop (see desktop.h).
 *
 * The picture is drawn once into a 32-bit buffer, then cut into 64x64
 * tiles (an uncompressed bitmap's length field is 16 bits, so a tile must
 * stay under 64 KiB) converted to the client's depth, bottom-up as the
 * bitmap format wants. */
#include "engine/desktop.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <freerdp/update.h>

#define TILE 64

/* 5x7 glyphs, one byte per row, the low 5 bits left to right. */
static const struct {
	char c;
	uint8_t rows[7];
} font[] = {
        {'A', {14, 17, 17, 31, 17, 17, 17}}, {'B', {30, 17, 17, 30, 17, 17, 30}},
        {'C', {14, 17, 16, 16, 16, 17, 14}}, {'D', {30, 17, 17, 17, 17, 17, 30}},
        {'E', {31, 16, 16, 30, 16, 16, 31}}, {'F', {31, 16, 16, 30, 16, 16, 16}},
        {'G', {14, 17, 16, 23, 17, 17, 15}}, {'H', {17, 17, 17, 31, 17, 17, 17}},
        {'I', {14, 4, 4, 4, 4, 4, 14}},      {'J', {7, 2, 2, 2, 2, 18, 12}},
        {'K', {17, 18, 20, 24, 20, 18, 17}}, {'L', {16, 16, 16, 16, 16, 16, 31}},
        {'M', {17, 27, 21, 21, 17, 17, 17}}, {'N', {17, 17, 25, 21, 19, 17, 17}},
        {'O', {14, 17, 17, 17, 17, 17, 14}}, {'P', {30, 17, 17, 30, 16, 16, 16}},
        {'Q', {14, 17, 17, 17, 21, 18, 13}}, {'R', {30, 17, 17, 30, 20, 18, 17}},
        {'S', {15, 16, 16, 14, 1, 1, 30}},   {'T', {31, 4, 4, 4, 4, 4, 4}},
        {'U', {17, 17, 17, 17, 17, 17, 14}}, {'V', {17, 17, 17, 17, 17, 10, 4}},
        {'W', {17, 17, 17, 21, 21, 21, 10}}, {'X', {17, 17, 10, 4, 10, 17, 17}},
        {'Y', {17, 17, 10, 4, 4, 4, 4}},     {'Z', {31, 1, 2, 4, 8, 16, 31}},
        {'0', {14, 17, 19, 21, 25, 17, 14}}, {'1', {4, 12, 4, 4, 4, 4, 14}},
        {'2', {14, 17, 1, 2, 4, 8, 31}},     {'3', {31, 2, 4, 2, 1, 17, 14}},
        {'4', {2, 6, 10, 18, 31, 2, 2}},     {'5', {31, 16, 30, 1, 1, 17, 14}},
        {'6', {6, 8, 16, 30, 17, 17, 14}},   {'7', {31, 1, 2, 4, 8, 8, 8}},
        {'8', {14, 17, 17, 14, 17, 17, 14}}, {'9', {14, 17, 17, 15, 1, 2, 12}},
        {'-', {0, 0, 0, 31, 0, 0, 0}},       {'.', {0, 0, 0, 0, 0, 12, 12}},
        {',', {0, 0, 0, 0, 12, 4, 8}},       {':', {0, 12, 12, 0, 12, 12, 0}},
        {'/', {1, 1, 2, 4, 8, 16, 16}},      {'(', {2, 4, 8, 8, 8, 4, 2}},
        {')', {8, 4, 2, 2, 2, 4, 8}},        {'\'', {4, 4, 8, 0, 0, 0, 0}},
        {'_', {0, 0, 0, 0, 0, 0, 31}},       {'=', {0, 0, 31, 0, 31, 0, 0}},
        {'+', {0, 4, 4, 31, 4, 4, 0}},       {'!', {4, 4, 4, 4, 4, 0, 4}},
        {';', {0, 12, 12, 0, 12, 4, 8}},
};

struct canvas {
	uint32_t *px;
	int w, h;
};

static void fill(struct canvas *cv, int x, int y, int w, int h, uint32_t color)
{
	for (int j = y < 0 ? 0 : y; j < y + h && j < cv->h; j++)
		for (int i = x < 0 ? 0 : x; i < x + w && i < cv->w; i++)
			cv->px[(size_t)j * (size_t)cv->w + (size_t)i] = color;
}

static const uint8_t *glyph(char c)
{
	c = (char)toupper((unsigned char)c);
	for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
		if (font[i].c == c)
			return font[i].rows;
	return NULL;
}

/* Draws text at scale s; stops at max_w pixels. */
static void text(struct canvas *cv, int x, int y, int s, int max_w, const char *str, uint32_t color)
{
	for (int start = x; *str && x - start + 6 * s <= max_w; str++, x += 6 * s) {
		const uint8_t *g = glyph(*str);
		if (!g)
			continue;
		for (int row = 0; row < 7; row++)
			for (int col = 0; col < 5; col++)
				if (g[row] & (1u << (4 - col)))
					fill(cv, x + col * s, y + row * s, s, s, color);
	}
}

static int text_width(const char *str, int s)
{
	return (int)strlen(str) * 6 * s - s;
}

static void render(struct canvas *cv, const char *title, const char *subtitle)
{
	int w = cv->w, h = cv->h;
	for (int y = 0; y < h; y++) {
		uint32_t g = (uint32_t)(40 + 60 * y / (h ? h : 1));
		fill(cv, 0, y, w, 1, (0x10u << 16) | (g << 8) | (g + 30));
	}
	fill(cv, 0, 0, w, 28, 0x202830);
	text(cv, 10, 7, 2, w - 20, "rdpfault", 0xE0E0E0);

	int ww = w * 2 / 3, wh = h / 3, wx = (w - ww) / 2, wy = (h - wh) / 2;
	fill(cv, wx - 2, wy - 2, ww + 4, wh + 4, 0x101418);
	fill(cv, wx, wy, ww, wh, 0xECECEC);
	fill(cv, wx, wy, ww, 24, 0x3060A0);
	text(cv, wx + 8, wy + 6, 2, ww - 16, "scenario", 0xFFFFFF);
	int scale = 4;
	while (scale > 1 && text_width(title, scale) > ww - 32)
		scale--;
	text(cv, wx + 16, wy + 48, scale, ww - 32, title, 0x182028);
	if (subtitle)
		text(cv, wx + 16, wy + 48 + 10 * scale, 1, ww - 32, subtitle, 0x404850);
}

/* Writes one tile in the client's depth, bottom-up. Returns bytes. */
static size_t tile_bytes(const struct canvas *cv, int x0, int y0, int tw, int th, int bpp,
                         uint8_t *out)
{
	size_t n = 0;
	for (int y = y0 + th - 1; y >= y0; y--) {
		for (int x = x0; x < x0 + tw; x++) {
			uint32_t p = cv->px[(size_t)y * (size_t)cv->w + (size_t)x];
			uint8_t r = (uint8_t)(p >> 16), g = (uint8_t)(p >> 8), b = (uint8_t)p;
			if (bpp == 32) {
				out[n++] = b, out[n++] = g, out[n++] = r, out[n++] = 0xFF;
			} else if (bpp == 24) {
				out[n++] = b, out[n++] = g, out[n++] = r;
			} else if (bpp == 16) {
				uint16_t v = (uint16_t)((r >> 3) << 11 | (g >> 2) << 5 | (b >> 3));
				out[n++] = (uint8_t)v, out[n++] = (uint8_t)(v >> 8);
			} else {
				uint16_t v = (uint16_t)((r >> 3) << 10 | (g >> 3) << 5 | (b >> 3));
				out[n++] = (uint8_t)v, out[n++] = (uint8_t)(v >> 8);
			}
		}
		while (n % 4) /* rows are padded to 4 bytes */
			out[n++] = 0;
	}
	return n;
}

int desktop_draw(freerdp_peer *client, const char *title, const char *subtitle)
{
	rdpContext *ctx = client->context;
	rdpUpdate *update = client->update;
	int bpp = (int)ctx->settings->ColorDepth;
	struct canvas cv = {NULL, (int)ctx->settings->DesktopWidth,
	                    (int)ctx->settings->DesktopHeight};
	int rc = 0;

	if (bpp != 32 && bpp != 24 && bpp != 16 && bpp != 15)
		return 0; /* 8 bpp needs a palette: leave the client's default screen */
	if (cv.w <= 0 || cv.h <= 0 || cv.w > 8192 || cv.h > 8192)
		return -1;
	cv.px = malloc((size_t)cv.w * (size_t)cv.h * sizeof(uint32_t));
	uint8_t *buf = malloc((size_t)TILE * TILE * 4);
	if (!cv.px || !buf) {
		free(cv.px);
		free(buf);
		return -1;
	}
	render(&cv, title, subtitle);

	/* Flags written as given: FreeRDP's automatic flags put
	 * NO_BITMAP_COMPRESSION_HDR (0x0400) on uncompressed bitmaps too when
	 * the client advertised it, and rdesktop then decodes raw pixels as
	 * RLE ("failed to decompress bitmap"): it treats any non-zero flags as
	 * compressed. */
	update->autoCalculateBitmapData = FALSE;
	update->BeginPaint(ctx);
	for (int y = 0; y < cv.h && rc == 0; y += TILE) {
		for (int x = 0; x < cv.w && rc == 0; x += TILE) {
			int tw = cv.w - x < TILE ? cv.w - x : TILE;
			int th = cv.h - y < TILE ? cv.h - y : TILE;
			/* The bitmap width must be a multiple of 4; the
			 * destination rectangle clips the padding. */
			int pw = (tw + 3) & ~3;
			if (x + pw > cv.w)
				x = cv.w - pw < 0 ? 0 : cv.w - pw, tw = pw;
			BITMAP_DATA bd = {0};
			bd.destLeft = (UINT32)x;
			bd.destTop = (UINT32)y;
			bd.destRight = (UINT32)(x + tw - 1);
			bd.destBottom = (UINT32)(y + th - 1);
			bd.width = (UINT32)tw;
			bd.height = (UINT32)th;
			bd.bitsPerPixel = (UINT32)bpp;
			bd.bitmapLength = (UINT32)tile_bytes(&cv, x, y, tw, th, bpp, buf);
			bd.bitmapDataStream = buf;
			bd.compressed = FALSE;
			bd.flags = 0;
			BITMAP_UPDATE bu = {0};
			bu.count = bu.number = 1;
			bu.rectangles = &bd;
			if (!update->BitmapUpdate(ctx, &bu))
				rc = -1;
		}
	}
	update->EndPaint(ctx);
	free(cv.px);
	free(buf);
	return rc;
}
