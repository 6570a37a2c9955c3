/* stb-impl.c: the one translation unit that compiles stb_image and stb_image_write, with
 * Quorum's own dimension cap (the real pixel limit is checked before decoding anyway). */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_MAX_DIMENSIONS 65536
#define STBI_NO_STDIO
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#include <stb_image_write.h>
