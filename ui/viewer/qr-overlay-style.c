/* qr-overlay-style.c: see qr-overlay-style.h. */
#include "qr-overlay-style.h"

#include <math.h>

/* Kelly's 22 colours of maximum contrast (1965) without white and black, in his order: each
 * new colour is as far as he could make it from those before it. */
static const char *const palette[QR_PALETTE_SIZE] = {
  "#f3c300", "#875692", "#f38400", "#a1caf1", "#be0032", "#c2b280", "#848482", "#008856", "#e68fac", "#0067a5",
  "#f99379", "#604e97", "#f6a600", "#b3446c", "#dcd300", "#882d17", "#8db600", "#654522", "#e25822", "#2b3d26",
};

void
qr_palette_colour (guint n, GdkRGBA *rgba)
{
  gdk_rgba_parse (rgba, palette[n % QR_PALETTE_SIZE]);
}

guint *
qr_palette_assign (const char *const *names)
{
  guint n = names ? g_strv_length ((char **) names) : 0;
  guint *out = g_new0 (guint, MAX (n, 1));
  g_autofree guint *order = g_new0 (guint, MAX (n, 1));

  /* by name, each class the next colour of Kelly's sequence: the first ones are the farthest
     apart, so an image's few classes get the most distinct colours; the same set of classes
     always gets the same colours */
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = 1; i < n; i++)
    for (guint j = i; j > 0 && g_strcmp0 (names[order[j - 1]], names[order[j]]) > 0; j--)
      {
        guint t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }
  for (guint k = 0; k < n; k++)
    out[order[k]] = k % QR_PALETTE_SIZE;
  return out;
}

static double
linear (double v)
{
  return v <= 0.03928 ? v / 12.92 : pow ((v + 0.055) / 1.055, 2.4);
}

gboolean
qr_overlay_text_dark (const GdkRGBA *c)
{
  double l = 0.2126 * linear (c->red) + 0.7152 * linear (c->green) + 0.0722 * linear (c->blue);
  /* WCAG contrast: with black (l + 0.05) / 0.05, with white 1.05 / (l + 0.05); the higher wins */
  return (l + 0.05) / 0.05 > 1.05 / (l + 0.05);
}

static gboolean
overlaps (const QrTagRect *a, const QrTagRect *b)
{
  return a->x < b->x + b->width && b->x < a->x + a->width && a->y < b->y + b->height && b->y < a->y + a->height;
}

void
qr_overlay_place_tags (const QrTagRect *boxes, const double *width, double height, guint n, double canvas_width,
                       double canvas_height, const QrTagRect *avoid, QrTagRect *out, gboolean *shown)
{
  for (guint i = 0; i < n; i++)
    {
      const QrTagRect *b = &boxes[i];
      double w = width[i];
      /* candidate tops: above the box, inside at its top, below it, then down the inside */
      double tops[8] = { b->y - height, b->y, b->y + b->height, b->y + height, b->y + 2 * height, b->y + 3 * height,
                         b->y - 2 * height, b->y + b->height + height };
      /* left edge on the box, kept on the canvas */
      double x = CLAMP (b->x, 0, MAX (0, canvas_width - w));

      shown[i] = FALSE;
      for (guint k = 0; k < G_N_ELEMENTS (tops) && !shown[i]; k++)
        {
          QrTagRect r = { x, tops[k], w, height };
          gboolean free = r.y >= 0 && r.y + height <= canvas_height && w <= canvas_width
                          && (avoid == NULL || !overlaps (&r, avoid));
          for (guint j = 0; free && j < i; j++)
            if (shown[j] && overlaps (&r, &out[j]))
              free = FALSE;
          if (free)
            {
              out[i] = r;
              shown[i] = TRUE;
            }
        }
      if (!shown[i])
        out[i] = (QrTagRect) { x, CLAMP (b->y - height, 0, MAX (0, canvas_height - height)), w, height };
    }
}
