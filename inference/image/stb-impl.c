/* stb-impl.c: the one translation unit that compiles stb_image and stb_image_write, with
 * Quorum's own dimension cap (the real pixel limit is checked before decoding anyway) and only
 * the loaders Quorum uses stb for (PNG, GIF, BMP, TGA, PNM, PSD, HDR). */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_MAX_DIMENSIONS 65536
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
/* JPEG is always libjpeg-turbo's: stb's JPEG decoder is left out. With it in, any input that
 * starts with 0xFF fill bytes before an SOI marker (sniffed as no format, so handed to stb to
 * try every loader) reached it, and fuzz-image-probe found an out-of-bounds write in its Huffman
 * table builder (stb_image.h:1990, Debian's 0.0~git20220908). Softimage PIC is not a format
 * Quorum reads: out too. */
#define STBI_NO_JPEG
#define STBI_NO_PIC
#include <stb_image.h>
#include <stb_image_write.h>
