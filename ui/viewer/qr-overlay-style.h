/* qr-overlay-style.h: how the viewer's boxes are told apart and kept readable, as plain
 * functions the canvas calls and the tests check: a palette of 20 colours chosen to be told
 * apart (Kelly's colours of maximum contrast, less white and black), each class of an image
 * given its own, the tag's text dark or light for contrast, and tags placed so that they neither
 * overlap nor leave the canvas. */
#pragma once

#include <gdk/gdk.h>

G_BEGIN_DECLS

#define QR_PALETTE_SIZE 20

/* The palette's n-th colour (n modulo QR_PALETTE_SIZE). */
void     qr_palette_colour        (guint          n,
                                   GdkRGBA       *rgba);
/* Palette indices for the distinct class names of one image (names: NULL-terminated, no
 * repeats): in name order, each class the next colour of the palette's sequence (its first
 * colours are the farthest apart), so up to QR_PALETTE_SIZE classes never share one and the same
 * set of classes always looks the same. Returns a newly allocated array of as many guint as names. */
guint   *qr_palette_assign        (const char *const *names);
/* Whether dark text has more contrast on this background than white (WCAG 2 contrast ratios). */
gboolean qr_overlay_text_dark     (const GdkRGBA *background);

typedef struct
{
  double x, y, width, height;
} QrTagRect;

/* Places n tags, in order of priority (the first placed first): tag i is width[i] × height wide
 * and belongs to box i (widget coordinates). Each tries above the box's top-left corner, inside
 * it at the top, below it, then lower inside, and takes the first place that stays within
 * canvas_width × canvas_height and overlaps neither avoid nor a tag placed before; a tag with no such place is
 * elided (shown[i] FALSE). out[i] is where tag i goes. */
void     qr_overlay_place_tags    (const QrTagRect *boxes,
                                   const double    *width,
                                   double           height,
                                   guint            n,
                                   double           canvas_width,
                                   double           canvas_height,
                                   const QrTagRect *avoid,     /* e.g. the legend; may be NULL */
                                   QrTagRect       *out,
                                   gboolean        *shown);

G_END_DECLS
