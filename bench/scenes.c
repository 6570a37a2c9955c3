/* scenes.c: generated scenes and their captions (qr-scenes.h). Everything comes from a GRand
 * seeded by the seed and the scene's index, so a scene never depends on how many were made. */
#include "qr-scenes.h"

#include <cairo.h>
#include <math.h>
#include <string.h>

typedef struct
{
  const char *names[3];   /* synonyms; NULL-padded */
  const char *plurals[3];
} Noun;

static const Noun kinds[] = {
  { { "circle", "disc", "dot" }, { "circles", "discs", "dots" } },
  { { "square", "block", NULL }, { "squares", "blocks", NULL } },
  { { "triangle", "wedge", NULL }, { "triangles", "wedges", NULL } },
  { { "star", NULL, NULL }, { "stars", NULL, NULL } },
  { { "cross", "plus sign", NULL }, { "crosses", "plus signs", NULL } },
};

typedef struct
{
  const char *names[2];
  double      rgb[3];
} Colour;

static const Colour colours[] = {
  { { "red", "scarlet" }, { 0.85, 0.10, 0.10 } },
  { { "green", NULL }, { 0.10, 0.65, 0.15 } },
  { { "blue", NULL }, { 0.12, 0.25, 0.85 } },
  { { "yellow", NULL }, { 0.95, 0.85, 0.10 } },
  { { "purple", "violet" }, { 0.55, 0.15, 0.70 } },
  { { "black", "dark" }, { 0.05, 0.05, 0.05 } },
};

#define N_KINDS   ((int) G_N_ELEMENTS (kinds))
#define N_COLOURS ((int) G_N_ELEMENTS (colours))

static GRand *
scene_rand (guint64 seed, guint index, guint stream)
{
  guint32 words[4] = { (guint32) seed, (guint32) (seed >> 32), index, stream };
  return g_rand_new_with_seed_array (words, 4);
}

static double
group_cx (const QrSceneGroup *g)
{
  return g->count == 2 ? (g->x[0] + g->x[1]) / 2 : g->x[0];
}

static double
group_cy (const QrSceneGroup *g)
{
  return g->count == 2 ? (g->y[0] + g->y[1]) / 2 : g->y[0];
}

static double
radius (const QrSceneGroup *g)
{
  return g->large ? 0.12 : 0.075;
}

/* Places every shape apart from the others, inside the frame; FALSE when it did not fit. */
static gboolean
place (QrScene *scene, GRand *rand)
{
  double xs[4], ys[4], rs[4];
  int n = 0;

  for (int g = 0; g < scene->n_groups; g++)
    {
      QrSceneGroup *grp = &scene->groups[g];
      for (int s = 0; s < grp->count; s++)
        {
          double r = radius (grp);
          gboolean ok = FALSE;
          for (int attempt = 0; attempt < 200 && !ok; attempt++)
            {
              double x = g_rand_double_range (rand, r + 0.02, 1 - r - 0.02);
              double y = g_rand_double_range (rand, r + 0.02, 1 - r - 0.02);
              ok = TRUE;
              for (int k = 0; k < n && ok; k++)
                ok = hypot (x - xs[k], y - ys[k]) > r + rs[k] + 0.03;
              if (ok)
                {
                  grp->x[s] = xs[n] = x;
                  grp->y[s] = ys[n] = y;
                  rs[n++] = r;
                }
            }
          if (!ok)
            return FALSE;
        }
    }
  return TRUE;
}

/* The relation between the first two groups is only said when it is clear: their centres apart
 * by more than 0.15 along the axis it names. */
static gboolean
relation_clear (const QrScene *scene)
{
  double dx, dy;

  if (scene->n_groups < 2)
    return TRUE;
  dx = group_cx (&scene->groups[1]) - group_cx (&scene->groups[0]);
  dy = group_cy (&scene->groups[1]) - group_cy (&scene->groups[0]);
  return fabs (dx) > fabs (dy) ? fabs (dx) > 0.15 : fabs (dy) > 0.15;
}

void
qr_scene_generate (guint64 seed, guint index, gboolean held_out, QrScene *scene)
{
  g_autoptr (GRand) rand = scene_rand (seed, index, held_out ? 2 : 1);
  int shapes;

  for (;;)
    {
      memset (scene, 0, sizeof *scene);
      scene->n_groups = g_rand_int_range (rand, 1, QR_SCENE_MAX_GROUPS + 1);
      shapes = 0;
      for (int g = 0; g < scene->n_groups; g++)
        {
          QrSceneGroup *grp = &scene->groups[g];
          gboolean distinct;
          do
            {
              grp->kind = g_rand_int_range (rand, 0, N_KINDS);
              grp->colour = g_rand_int_range (rand, 0, N_COLOURS);
              distinct = TRUE;
              for (int k = 0; k < g; k++)
                distinct &= scene->groups[k].kind != grp->kind || scene->groups[k].colour != grp->colour;
            }
          while (!distinct);
          grp->count = shapes + (scene->n_groups - g) < 4 && g_rand_boolean (rand) ? 2 : 1;
          grp->large = g_rand_boolean (rand);
          shapes += grp->count;
        }
      scene->background = (QrSceneBackground) g_rand_int_range (rand, 0, 4);
      scene->texture_seed = g_rand_int (rand);
      scene->caption_seed = g_rand_int (rand);
      if (place (scene, rand) && relation_clear (scene))
        return;
    }
}

static void
draw_shape (cairo_t *cr, int kind, double x, double y, double r, double turn)
{
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_rotate (cr, turn);
  switch (kind)
    {
    case 0:
      cairo_arc (cr, 0, 0, r, 0, 2 * G_PI);
      break;
    case 1:
      cairo_rectangle (cr, -r * 0.85, -r * 0.85, r * 1.7, r * 1.7);
      break;
    case 2:
      cairo_move_to (cr, 0, -r);
      cairo_line_to (cr, r * 0.95, r * 0.7);
      cairo_line_to (cr, -r * 0.95, r * 0.7);
      cairo_close_path (cr);
      break;
    case 3:
      for (int i = 0; i < 10; i++)
        {
          double a = -G_PI / 2 + i * G_PI / 5, rr = i % 2 ? r * 0.42 : r;
          if (i == 0)
            cairo_move_to (cr, rr * cos (a), rr * sin (a));
          else
            cairo_line_to (cr, rr * cos (a), rr * sin (a));
        }
      cairo_close_path (cr);
      break;
    default:
      cairo_rectangle (cr, -r, -r * 0.3, 2 * r, r * 0.6);
      cairo_rectangle (cr, -r * 0.3, -r, r * 0.6, r * 0.7);
      cairo_rectangle (cr, -r * 0.3, r * 0.3, r * 0.6, r * 0.7);
      break;
    }
  cairo_fill (cr);
  cairo_restore (cr);
}

static void
draw_background (cairo_t *cr, const QrScene *scene, int side)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (scene->texture_seed);
  double base = g_rand_double_range (rand, 0.75, 0.95);
  double tint[3] = { base, base - g_rand_double_range (rand, 0, 0.08), base - g_rand_double_range (rand, 0, 0.12) };

  cairo_set_source_rgb (cr, tint[0], tint[1], tint[2]);
  cairo_paint (cr);
  cairo_set_source_rgba (cr, tint[0] * 0.8, tint[1] * 0.8, tint[2] * 0.85, 1);
  switch (scene->background)
    {
    case QR_SCENE_PLAIN:
      break;
    case QR_SCENE_STRIPES:
      {
        double step = side / g_rand_double_range (rand, 8, 16);
        cairo_save (cr);
        cairo_translate (cr, side / 2.0, side / 2.0);
        cairo_rotate (cr, g_rand_double_range (rand, 0, G_PI));
        for (double t = -side; t < side; t += step)
          cairo_rectangle (cr, t, -side, step / 2, 2 * side);
        cairo_fill (cr);
        cairo_restore (cr);
        break;
      }
    case QR_SCENE_CHECKS:
      {
        int cells = g_rand_int_range (rand, 6, 12);
        double step = (double) side / cells;
        for (int i = 0; i < cells; i++)
          for (int j = 0; j < cells; j++)
            if ((i + j) % 2)
              cairo_rectangle (cr, i * step, j * step, step, step);
        cairo_fill (cr);
        break;
      }
    case QR_SCENE_NOISE:
      for (int i = 0; i < 400; i++)
        {
          double v = g_rand_double_range (rand, 0.55, 1.0);
          cairo_set_source_rgb (cr, tint[0] * v, tint[1] * v, tint[2] * v);
          cairo_arc (cr, g_rand_double (rand) * side, g_rand_double (rand) * side,
                     g_rand_double_range (rand, 1, side / 40.0), 0, 2 * G_PI);
          cairo_fill (cr);
        }
      break;
    }
}

QrImage *
qr_scene_render (const QrScene *scene, int side)
{
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, side, side);
  cairo_t *cr = cairo_create (surface);
  g_autoptr (GRand) rand = g_rand_new_with_seed (scene->texture_seed ^ 0x5bd1e995u);
  QrImage *image = qr_image_new (side, side);
  const guint8 *data;
  int stride;

  draw_background (cr, scene, side);
  for (int g = 0; g < scene->n_groups; g++)
    {
      const QrSceneGroup *grp = &scene->groups[g];
      const double *rgb = colours[grp->colour].rgb;
      for (int s = 0; s < grp->count; s++)
        {
          double shade = g_rand_double_range (rand, 0.9, 1.1);
          cairo_set_source_rgb (cr, CLAMP (rgb[0] * shade, 0, 1), CLAMP (rgb[1] * shade, 0, 1),
                                CLAMP (rgb[2] * shade, 0, 1));
          draw_shape (cr, grp->kind, grp->x[s] * side, grp->y[s] * side,
                      radius (grp) * side * g_rand_double_range (rand, 0.9, 1.1),
                      grp->kind == 0 ? 0 : g_rand_double_range (rand, -0.35, 0.35));
        }
    }
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  data = cairo_image_surface_get_data (surface);
  stride = cairo_image_surface_get_stride (surface);
  for (int y = 0; y < side; y++)
    for (int x = 0; x < side; x++)
      {
        guint32 p;
        guint8 *out = image->pixels + ((gsize) y * side + x) * 3;
        memcpy (&p, data + (gsize) y * stride + (gsize) x * 4, 4);
        out[0] = (p >> 16) & 0xff;
        out[1] = (p >> 8) & 0xff;
        out[2] = p & 0xff;
      }
  cairo_surface_destroy (surface);
  return image;
}

static const char *
pick (GRand *rand, const char *const *names, int n)
{
  int count = 0;
  while (count < n && names[count] != NULL)
    count++;
  return names[g_rand_int_range (rand, 0, count)];
}

static void
append_group (GString *out, const QrSceneGroup *g, GRand *rand, gboolean say_size)
{
  const Noun *noun = &kinds[g->kind];

  if (g->count == 2)
    g_string_append (out, g_rand_int_range (rand, 0, 3) == 0 ? "a pair of " : "two ");
  else
    g_string_append (out, g_rand_int_range (rand, 0, 4) == 0 ? "one " : "a ");
  if (say_size)
    g_string_append (out, g->large ? (g_rand_boolean (rand) ? "large " : "big ") : "small ");
  g_string_append_printf (out, "%s %s", pick (rand, colours[g->colour].names, 2),
                          g->count == 2 ? pick (rand, noun->plurals, 3) : pick (rand, noun->names, 3));
}

static const char *
relation (const QrScene *scene, GRand *rand)
{
  double dx = group_cx (&scene->groups[1]) - group_cx (&scene->groups[0]);
  double dy = group_cy (&scene->groups[1]) - group_cy (&scene->groups[0]);
  static const char *const left[] = { "left of", "to the left of" };
  static const char *const right[] = { "right of", "to the right of" };
  static const char *const above[] = { "above", "over" };
  static const char *const below[] = { "below", "under", "beneath" };

  if (fabs (dx) > fabs (dy))
    return dx > 0 ? pick (rand, left, 2) : pick (rand, right, 2);
  return dy > 0 ? pick (rand, above, 2) : pick (rand, below, 3);
}

char *
qr_scene_caption (const QrScene *scene, guint64 seed, guint variant)
{
  g_autoptr (GRand) rand = scene_rand (seed, scene->caption_seed, 3 + variant);
  GString *out = g_string_new (NULL);
  static const char *const backgrounds[] = { NULL, "striped", "checked", "speckled" };
  gboolean say_size = g_rand_int_range (rand, 0, 3) == 0;

  if (g_rand_int_range (rand, 0, 5) == 0)
    g_string_append (out, pick (rand, (const char *const[]) { "a picture of ", "an image of ", "there is " }, 3));
  append_group (out, &scene->groups[0], rand, say_size);
  if (scene->n_groups >= 2)
    {
      g_string_append_printf (out, " %s ", relation (scene, rand));
      append_group (out, &scene->groups[1], rand, say_size);
    }
  if (scene->n_groups == 3)
    {
      g_string_append (out, g_rand_boolean (rand) ? " and " : ", with ");
      append_group (out, &scene->groups[2], rand, say_size);
    }
  if (scene->background != QR_SCENE_PLAIN && g_rand_boolean (rand))
    g_string_append_printf (out, " on a %s background", backgrounds[scene->background]);
  else if (scene->background == QR_SCENE_PLAIN && g_rand_int_range (rand, 0, 4) == 0)
    g_string_append (out, " on a plain background");
  return g_string_free (out, FALSE);
}
