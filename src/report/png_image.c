/* PNG encoding (see png_image.h): the signature, IHDR, one IDAT compressed by zlib (filter 0
 * on every row) and IEND, each chunk with its CRC-32 (PNG specification, section 5). Enough
 * for 8-bit grey and RGB images; no library beyond zlib is needed. */
#include "report/png_image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Writes one chunk at out (length, type, data, CRC over type and data); returns its size. */
static size_t chunk(unsigned char *out, const char *type, const unsigned char *data, size_t n)
{
    put_u32(out, (uint32_t)n);
    memcpy(out + 4, type, 4);
    if (n)
        memcpy(out + 8, data, n);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, out + 4, (uInt)(n + 4));
    put_u32(out + 8 + n, (uint32_t)crc);
    return n + 12;
}

static void base64(nni_text *out, const unsigned char *data, size_t n)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char quad[4];
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < n)
            v |= data[i + 2];
        quad[0] = digits[(v >> 18) & 63];
        quad[1] = digits[(v >> 12) & 63];
        quad[2] = i + 1 < n ? digits[(v >> 6) & 63] : '=';
        quad[3] = i + 2 < n ? digits[v & 63] : '=';
        nni_text_put(out, quad, 4);
    }
}

int nni_png_encode(nni_text *out, const float *chw, int channels, int height, int width)
{
    int colour = channels == 3;
    int per_pixel = colour ? 3 : 1;
    size_t row = 1 + (size_t)width * per_pixel, raw_size = row * (size_t)height;
    unsigned char *raw = malloc(raw_size);
    uLongf packed_size = compressBound((uLong)raw_size);
    unsigned char *packed = malloc(packed_size);
    unsigned char *file = malloc(packed_size + 64);
    int ok = raw && packed && file;
    if (ok) {
        size_t plane = (size_t)height * (size_t)width;
        float lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < plane * (size_t)(colour ? 3 : 1); i++) {
            lo = fminf(lo, chw[i]);
            hi = fmaxf(hi, chw[i]);
        }
        float range = hi > lo ? hi - lo : 1;
        for (int y = 0; y < height; y++) {
            unsigned char *r = raw + (size_t)y * row;
            r[0] = 0; /* filter: none */
            for (int x = 0; x < width; x++)
                for (int c = 0; c < per_pixel; c++) {
                    float v = chw[(size_t)c * plane + (size_t)y * width + x];
                    r[1 + x * per_pixel + c] = (unsigned char)lroundf((v - lo) / range * 255.0f);
                }
        }
        ok = compress2(packed, &packed_size, raw, (uLong)raw_size, 9) == Z_OK;
    }
    if (ok) {
        static const unsigned char signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        unsigned char header[13];
        put_u32(header, (uint32_t)width);
        put_u32(header + 4, (uint32_t)height);
        header[8] = 8;                /* bits per sample */
        header[9] = colour ? 2 : 0;   /* truecolour or greyscale */
        header[10] = header[11] = header[12] = 0;
        size_t n = 0;
        memcpy(file, signature, 8);
        n = 8;
        n += chunk(file + n, "IHDR", header, sizeof header);
        n += chunk(file + n, "IDAT", packed, packed_size);
        n += chunk(file + n, "IEND", NULL, 0);
        nni_text_put(out, (const char *)file, n);
    }
    free(raw);
    free(packed);
    free(file);
    return ok && !out->failed;
}

int nni_png_data_uri(nni_text *out, const float *chw, int channels, int height, int width)
{
    nni_text png = {0};
    int ok = nni_png_encode(&png, chw, channels, height, width);
    if (ok) {
        nni_text_puts(out, "data:image/png;base64,");
        base64(out, (const unsigned char *)png.data, png.len);
    }
    nni_text_free(&png);
    return ok && !out->failed;
}
