/* qr-canvas.c: see qr-canvas.h. The picture is a texture node; the boxes are drawn with cairo on
 * top (a vector path is simpler there). Zoom is relative to "fit": 1 shows the whole image. Here:
 * drawing, zoom and pan, the widget's class and what the viewer sets; editing the boxes (drags,
 * clicks, the edit actions, the class picker) is qr-canvas-edit.c's. */
#define G_LOG_DOMAIN "quorum-canvas"

#include "qr-canvas-private.h"
#include "qr-overlay-style.h"
#include "qr-heatmap.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>


G_DEFINE_FINAL_TYPE (QrCanvas, qr_canvas, GTK_TYPE_WIDGET)

static guint changed_signal, selection_signal;

/* The boxes (and with them the selection) changed: the window's inspector follows. */
void
qr_canvas_emit_changed (QrCanvas *self)
{
  g_signal_emit (self, changed_signal, 0);
}

/* Only the selection changed. */
void
qr_canvas_emit_selection (QrCanvas *self)
{
  g_signal_emit (self, selection_signal, 0);
}

static double
base_scale (QrCanvas *self, double width, double height)
{
  if (self->image_width <= 0 || self->image_height <= 0)
    return 1;
  return MIN (width / self->image_width, height / self->image_height);
}

void
qr_canvas_image_rect (QrCanvas *self, double *x, double *y, double *scale)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double s = base_scale (self, w, h) * self->zoom;

  *scale = s;
  *x = (w - self->image_width * s) / 2 + self->pan_x;
  *y = (h - self->image_height * s) / 2 + self->pan_y;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The distinct classes of the boxes drawn, sorted (NULL-terminated, strings borrowed). */
static GPtrArray *
visible_classes (QrCanvas *self)
{
  GPtrArray *names = g_ptr_array_new ();

  for (guint i = 0; self->overlays != NULL && i < self->overlays->len; i++)
    {
      QrOverlayBox *b = self->overlays->pdata[i];
      if (qr_canvas_box_visible (self, b) && !g_ptr_array_find_with_equal_func (names, b->class_name, g_str_equal, NULL))
        g_ptr_array_add (names, b->class_name);
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return names;
}

void
qr_canvas_set_heatmap_title (QrCanvas *self, const char *title)
{
  g_free (self->heat_title);
  self->heat_title = g_strdup (title);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
qr_canvas_set_heatmap_relative (QrCanvas *self, gboolean relative)
{
  self->heat_relative = relative;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
qr_canvas_class_colour (QrCanvas *self, const char *class_name, GdkRGBA *rgba)
{
  g_autoptr (GPtrArray) names = visible_classes (self);
  g_autofree guint *colours = qr_palette_assign ((const char *const *) names->pdata);

  for (guint i = 0; names->pdata[i] != NULL; i++)
    if (g_str_equal (names->pdata[i], class_name))
      {
        qr_palette_colour (colours[i], rgba);
        return TRUE;
      }
  qr_palette_colour (g_str_hash (class_name), rgba);
  return FALSE;
}

/* Tag priority: the selected box, then labels, then model boxes by score. */
static int
tag_order (gconstpointer a, gconstpointer b, gpointer data)
{
  QrCanvas *self = data;
  const QrOverlayBox *x = *(QrOverlayBox *const *) a, *y = *(QrOverlayBox *const *) b;
  const QrOverlayBox *sel = self->selected >= 0 && (guint) self->selected < self->overlays->len
                              ? self->overlays->pdata[self->selected] : NULL;
  if ((x == sel) != (y == sel))
    return x == sel ? -1 : 1;
  if (x->is_label != y->is_label)
    return x->is_label ? -1 : 1;
  return x->score > y->score ? -1 : x->score < y->score ? 1 : 0;
}

/* The legend: each class on screen, its colour, its labels (▢) and model boxes (⬚); its lines
 * are made by legend_texts, its place (bottom left) by legend_rect, so tags keep out of it. */
static GPtrArray *
legend_texts (QrCanvas *self, GPtrArray *names)
{
  GPtrArray *texts = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; self->legend_on && i + 1 < names->len; i++)
    {
      guint labels = 0, boxes = 0;
      for (guint k = 0; k < self->overlays->len; k++)
        {
          QrOverlayBox *b = self->overlays->pdata[k];
          if (qr_canvas_box_visible (self, b) && g_str_equal (b->class_name, names->pdata[i]))
            b->is_label ? labels++ : boxes++;
        }
      g_ptr_array_add (texts, labels && boxes ? g_strdup_printf ("%s  %u ▢ %u ⬚", (char *) names->pdata[i], labels, boxes)
                              : labels ? g_strdup_printf ("%s  %u ▢", (char *) names->pdata[i], labels)
                                       : g_strdup_printf ("%s  %u ⬚", (char *) names->pdata[i], boxes));
    }
  return texts;
}

#define LEGEND_ROW 18.0

static QrTagRect
legend_rect (cairo_t *cr, GPtrArray *texts, double h)
{
  double width = 0;

  cairo_set_font_size (cr, 11);
  for (guint i = 0; i < texts->len; i++)
    {
      cairo_text_extents_t ext;
      cairo_text_extents (cr, texts->pdata[i], &ext);
      width = MAX (width, ext.x_advance);
    }
  return (QrTagRect) { 8, h - 16 - texts->len * LEGEND_ROW, width + 40, texts->len * LEGEND_ROW + 8 };
}

static void
draw_legend (cairo_t *cr, GPtrArray *texts, const guint *colours, const QrTagRect *r)
{
  if (texts->len == 0)
    return;
  cairo_set_font_size (cr, 11);
  cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
  cairo_rectangle (cr, r->x, r->y, r->width, r->height);
  cairo_fill (cr);
  for (guint i = 0; i < texts->len; i++)
    {
      GdkRGBA c;
      qr_palette_colour (colours[i], &c);
      gdk_cairo_set_source_rgba (cr, &c);
      cairo_rectangle (cr, r->x + 8, r->y + 6 + i * LEGEND_ROW, 12, 12);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_move_to (cr, r->x + 26, r->y + 16 + i * LEGEND_ROW);
      cairo_show_text (cr, texts->pdata[i]);
    }
}

/* The heatmap's legend, top right: what it shows and its colour scale from 0 to its top. */
static void
draw_heat_legend (QrCanvas *self, cairo_t *cr, double w)
{
  const double bar_w = 140, bar_h = 10, pad = 8;
  g_autofree char *title = NULL;
  cairo_text_extents_t ext;
  double box_w, x, y = 8;

  if (self->heatmap == NULL)
    return;
  title = g_strdup_printf (_("Heatmap: %s"), self->heat_title ? self->heat_title : _("All classes"));
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, 11);
  cairo_text_extents (cr, title, &ext);
  box_w = MAX (ext.x_advance, bar_w + 24) + 2 * pad;
  x = w - box_w - 8;
  cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
  cairo_rectangle (cr, x, y, box_w, 52);
  cairo_fill (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_move_to (cr, x + pad, y + 16);
  cairo_show_text (cr, title);
  for (int i = 0; i < (int) bar_w; i++)
    {
      guint8 rgba[4];
      qr_heatmap_ramp ((float) i / (float) bar_w / 1.6f, rgba);
      /* over black, as the opacity would show it over a dark photo */
      cairo_set_source_rgb (cr, rgba[0] / 255.0 * rgba[3] / 255.0, rgba[1] / 255.0 * rgba[3] / 255.0,
                            rgba[2] / 255.0 * rgba[3] / 255.0);
      cairo_rectangle (cr, x + pad + i, y + 22, 1, bar_h);
      cairo_fill (cr);
    }
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_font_size (cr, 10);
  cairo_move_to (cr, x + pad, y + 46);
  if (self->heat_relative)
    {
      /* a scorer's map, from its lowest cell to its highest (cosines are not scores) */
      cairo_show_text (cr, _("lowest"));
      cairo_text_extents (cr, _("highest"), &ext);
      cairo_move_to (cr, x + pad + bar_w - ext.x_advance, y + 46);
      cairo_show_text (cr, _("highest"));
      return;
    }
  cairo_show_text (cr, "0");
  cairo_move_to (cr, x + pad + bar_w / 2 - 8, y + 46);
  cairo_show_text (cr, "0.31");
  cairo_move_to (cr, x + pad + bar_w - 26, y + 46);
  cairo_show_text (cr, "≥ 0.62");
}

static void
draw_boxes (QrCanvas *self, cairo_t *cr, double ox, double oy, double s, double w, double h)
{
  g_autoptr (GPtrArray) names = visible_classes (self);
  g_autofree guint *colours = qr_palette_assign ((const char *const *) names->pdata);
  g_autoptr (GPtrArray) shown = g_ptr_array_new ();
  g_autoptr (GHashTable) sources = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree QrTagRect *rects = NULL, *tags = NULL;
  g_autofree double *widths = NULL;
  g_autofree gboolean *placed = NULL;
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) legend = NULL;
  QrTagRect legend_at;
  const double dash[] = { 6, 4 }, tag_h = 18;

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  for (guint i = 0; self->overlays != NULL && i < self->overlays->len; i++)
    {
      QrOverlayBox *b = self->overlays->pdata[i];
      if (!qr_canvas_box_visible (self, b))
        continue;
      g_ptr_array_add (shown, b);
      if (!b->is_label)
        g_hash_table_add (sources, b->source);
    }
  /* boxes: the models' first, the labels over them */
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < shown->len; i++)
      {
        QrOverlayBox *b = shown->pdata[i];
        GdkRGBA c;
        if (b->is_label != (pass == 1))
          continue;
        qr_canvas_class_colour (self, b->class_name, &c);
        cairo_set_source_rgba (cr, c.red, c.green, c.blue, b->is_label ? 1.0 : 0.9);
        cairo_set_line_width (cr, b->is_label ? 3 : 2);
        cairo_set_dash (cr, dash, b->is_label ? 0 : 2, 0);
        cairo_rectangle (cr, ox + b->box.x1 * s, oy + b->box.y1 * s, (b->box.x2 - b->box.x1) * s,
                         (b->box.y2 - b->box.y1) * s);
        cairo_stroke (cr);
        cairo_set_dash (cr, NULL, 0, 0);
      }
  /* tags, most important first, where they overlap nothing and stay on the canvas; one model on
     screen goes unnamed */
  g_ptr_array_sort_with_data (shown, tag_order, self);
  rects = g_new0 (QrTagRect, MAX (shown->len, 1));
  tags = g_new0 (QrTagRect, MAX (shown->len, 1));
  widths = g_new0 (double, MAX (shown->len, 1));
  placed = g_new0 (gboolean, MAX (shown->len, 1));
  cairo_set_font_size (cr, 12);
  for (guint i = 0; i < shown->len; i++)
    {
      QrOverlayBox *b = shown->pdata[i];
      cairo_text_extents_t ext;
      char *text = b->is_label ? g_strdup (b->class_name)
                   : g_hash_table_size (sources) > 1 ? g_strdup_printf ("%s %.2f · %s", b->class_name, b->score, b->source)
                                                     : g_strdup_printf ("%s %.2f", b->class_name, b->score);
      g_ptr_array_add (texts, text);
      cairo_text_extents (cr, text, &ext);
      widths[i] = ext.x_advance + 8;
      rects[i] = (QrTagRect) { ox + b->box.x1 * s, oy + b->box.y1 * s, (b->box.x2 - b->box.x1) * s,
                               (b->box.y2 - b->box.y1) * s };
    }
  legend = legend_texts (self, names);
  legend_at = legend_rect (cr, legend, h);
  cairo_set_font_size (cr, 12);
  qr_overlay_place_tags (rects, widths, tag_h, shown->len, w, h, legend->len > 0 ? &legend_at : NULL, tags, placed);
  self->n_tags_elided = 0;
  for (guint i = shown->len; i-- > 0;)
    {
      QrOverlayBox *b = shown->pdata[i];
      GdkRGBA c;
      if (!placed[i])
        {
          self->n_tags_elided++;
          continue;
        }
      qr_canvas_class_colour (self, b->class_name, &c);
      cairo_set_source_rgba (cr, c.red, c.green, c.blue, b->is_label ? 1.0 : 0.92);
      cairo_rectangle (cr, tags[i].x, tags[i].y, tags[i].width, tags[i].height);
      cairo_fill (cr);
      if (qr_overlay_text_dark (&c))
        cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      else
        cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_move_to (cr, tags[i].x + 4, tags[i].y + tag_h - 5);
      cairo_show_text (cr, texts->pdata[i]);
    }
  draw_legend (cr, legend, colours, &legend_at);
  draw_heat_legend (self, cr, w);
}

gboolean
qr_canvas_box_visible (QrCanvas *self, QrOverlayBox *b)
{
  if (self->hidden_sources != NULL && g_hash_table_contains (self->hidden_sources, b->is_label ? "label" : b->source))
    return FALSE;
  if (b->is_label)
    return TRUE;
  return b->score >= self->threshold;
}

void
qr_canvas_handle_position (const QrBox *b, int handle, double *x, double *y)
{
  double mx = (b->x1 + b->x2) / 2, my = (b->y1 + b->y2) / 2;
  const double xs[8] = { b->x1, mx, b->x2, b->x2, b->x2, mx, b->x1, b->x1 };
  const double ys[8] = { b->y1, b->y1, b->y1, my, b->y2, b->y2, b->y2, my };
  *x = xs[handle];
  *y = ys[handle];
}

static void
draw_highlight (QrCanvas *self, cairo_t *cr, double ox, double oy, double s)
{
  const double dots[] = { 2, 3 };
  if (!self->has_highlight)
    return;
  cairo_set_source_rgb (cr, 1.0, 0.84, 0.0);
  cairo_set_line_width (cr, 3);
  cairo_set_dash (cr, dots, 2, 0);
  cairo_rectangle (cr, ox + self->highlight.x1 * s - 4, oy + self->highlight.y1 * s - 4,
                   (self->highlight.x2 - self->highlight.x1) * s + 8, (self->highlight.y2 - self->highlight.y1) * s + 8);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
}

static void
draw_selection (QrCanvas *self, cairo_t *cr, double ox, double oy, double s)
{
  const QrBox *b = NULL;

  if (self->drag_mode == DRAG_MOVE || self->drag_mode == DRAG_RESIZE || self->drag_mode == DRAG_DRAW)
    b = &self->drag_box;
  else if (self->selected >= 0 && self->overlays != NULL && (guint) self->selected < self->overlays->len)
    b = &((QrOverlayBox *) self->overlays->pdata[self->selected])->box;
  if (b == NULL)
    return;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_set_line_width (cr, 1.5);
  cairo_rectangle (cr, ox + b->x1 * s - 2, oy + b->y1 * s - 2, (b->x2 - b->x1) * s + 4, (b->y2 - b->y1) * s + 4);
  cairo_stroke (cr);
  for (int h = 0; h < 8; h++)
    {
      double x, y;
      qr_canvas_handle_position (b, h, &x, &y);
      cairo_rectangle (cr, ox + x * s - 4, oy + y * s - 4, 8, 8);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_fill_preserve (cr);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      cairo_set_line_width (cr, 1);
      cairo_stroke (cr);
    }
}

static void
qr_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  QrCanvas *self = QR_CANVAS (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget), ox, oy, s;
  cairo_t *cr;

  if (self->texture == NULL)
    return;
  qr_canvas_image_rect (self, &ox, &oy, &s);
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) w, (float) h));
  gtk_snapshot_append_texture (snapshot, self->texture,
                               &GRAPHENE_RECT_INIT ((float) ox, (float) oy, (float) (self->image_width * s),
                                                    (float) (self->image_height * s)));
  if (self->heatmap != NULL)
    {
      double hw = gdk_texture_get_width (self->heatmap) * self->cell_size * s;
      double hh = gdk_texture_get_height (self->heatmap) * self->cell_size * s;
      gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT ((float) ox, (float) oy, (float) (self->image_width * s),
                                                             (float) (self->image_height * s)));
      gtk_snapshot_push_opacity (snapshot, self->heat_opacity);
      gtk_snapshot_append_texture (snapshot, self->heatmap,
                                   &GRAPHENE_RECT_INIT ((float) ox, (float) oy, (float) hw, (float) hh));
      gtk_snapshot_pop (snapshot);
      gtk_snapshot_pop (snapshot);
    }
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) w, (float) h));
  draw_boxes (self, cr, ox, oy, s, w, h);
  draw_highlight (self, cr, ox, oy, s);
  draw_selection (self, cr, ox, oy, s);
  cairo_destroy (cr);
  gtk_snapshot_pop (snapshot);
}

static void
zoom_at (QrCanvas *self, double factor, double cx, double cy)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double new_zoom = CLAMP (self->zoom * factor, 0.1, 64.0);

  factor = new_zoom / self->zoom;
  /* Keep the point under the cursor where it is. */
  self->pan_x = (cx - w / 2) - ((cx - w / 2) - self->pan_x) * factor;
  self->pan_y = (cy - h / 2) - ((cy - h / 2) - self->pan_y) * factor;
  self->zoom = new_zoom;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* Pinch: zoom about the fingers' centre, relative to the zoom when the pinch began. */
static void
on_pinch_begin (GtkGesture *gesture, GdkEventSequence *sequence, QrCanvas *self)
{
  self->pinch_zoom = self->zoom;
}

static void
on_pinch (GtkGestureZoom *gesture, double scale, QrCanvas *self)
{
  double cx, cy;
  if (!gtk_gesture_get_bounding_box_center (GTK_GESTURE (gesture), &cx, &cy))
    {
      cx = gtk_widget_get_width (GTK_WIDGET (self)) / 2.0;
      cy = gtk_widget_get_height (GTK_WIDGET (self)) / 2.0;
    }
  zoom_at (self, self->pinch_zoom * scale / self->zoom, cx, cy);
}

static gboolean
on_key_pressed (GtkEventControllerKey *keys, guint keyval, guint keycode, GdkModifierType state, QrCanvas *self)
{
  if (keyval == GDK_KEY_space)
    self->space_down = TRUE;
  return FALSE;
}

static void
on_key_released (GtkEventControllerKey *keys, guint keyval, guint keycode, GdkModifierType state, QrCanvas *self)
{
  if (keyval == GDK_KEY_space)
    self->space_down = FALSE;
}

/* Arrows pan a zoomed-in image by a tenth of the view; at fit size there is nothing to pan, so
 * they step to the next or previous image as J and K do. */
static void
action_pan (GtkWidget *widget, const char *name, GVariant *param)
{
  QrCanvas *self = QR_CANVAS (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  int dx, dy;

  g_variant_get (param, "(ii)", &dx, &dy);
  if (self->zoom <= 1.0 + 1e-9)
    {
      if (dx != 0)
        gtk_widget_activate_action (widget, dx > 0 ? "win.next-image" : "win.previous-image", NULL);
      return;
    }
  self->pan_x -= dx * w / 10;
  self->pan_y -= dy * h / 10;
  gtk_widget_queue_draw (widget);
}

static gboolean
on_scroll (GtkEventControllerScroll *controller, double dx, double dy, QrCanvas *self)
{
  double x = gtk_widget_get_width (GTK_WIDGET (self)) / 2, y = gtk_widget_get_height (GTK_WIDGET (self)) / 2;
  GdkEvent *event = gtk_event_controller_get_current_event (GTK_EVENT_CONTROLLER (controller));

  if (event != NULL)
    gdk_event_get_position (event, &x, &y);
  zoom_at (self, dy < 0 ? 1.2 : 1 / 1.2, x, y);
  return TRUE;
}

static void
qr_canvas_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  QrCanvas *self = QR_CANVAS (widget);

  if (self->class_popover != NULL)
    gtk_popover_present (GTK_POPOVER (self->class_popover));
}

static void
action_legend (GtkWidget *widget, const char *name, GVariant *param)
{
  QrCanvas *self = QR_CANVAS (widget);
  self->legend_on = !self->legend_on;
  gtk_widget_queue_draw (widget);
}

void
qr_canvas_set_legend_visible (QrCanvas *self, gboolean visible)
{
  self->legend_on = visible;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
qr_canvas_get_legend_visible (QrCanvas *self)
{
  return self->legend_on;
}

guint
qr_canvas_get_n_tags_elided (QrCanvas *self)
{
  return self->n_tags_elided;
}

static void
action_zoom (GtkWidget *widget, const char *name, GVariant *param)
{
  QrCanvas *self = QR_CANVAS (widget);
  double w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);

  if (g_str_equal (name, "canvas.zoom-in"))
    zoom_at (self, 1.25, w / 2, h / 2);
  else if (g_str_equal (name, "canvas.zoom-out"))
    zoom_at (self, 1 / 1.25, w / 2, h / 2);
  else if (g_str_equal (name, "canvas.zoom-fit"))
    qr_canvas_zoom_fit (self);
  else if (self->image_width > 0)
    {
      /* 100 %: one image pixel per screen pixel */
      self->zoom = 1.0 / base_scale (self, w, h);
      self->pan_x = self->pan_y = 0;
      gtk_widget_queue_draw (widget);
    }
}

/* Small at least, but a photo's worth wide by nature: the viewer's inspector folds away (AdwFlap,
 * natural policy) rather than leave the photo a strip in a narrow window. */
static void
qr_canvas_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                   int *minimum_baseline, int *natural_baseline)
{
  *minimum = 100;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 560 : 420;
}

static void
qr_canvas_dispose (GObject *object)
{
  QrCanvas *self = QR_CANVAS (object);

  g_clear_object (&self->texture);
  g_clear_object (&self->heatmap);
  g_clear_pointer (&self->heat_title, g_free);
  g_clear_object (&self->history);
  g_clear_pointer (&self->hidden_sources, g_hash_table_unref);
  g_clear_pointer (&self->overlays, g_ptr_array_unref);
  g_clear_pointer (&self->class_popover, gtk_widget_unparent);
  G_OBJECT_CLASS (qr_canvas_parent_class)->dispose (object);
}

static void
qr_canvas_class_init (QrCanvasClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qr_canvas_dispose;
  widget_class->snapshot = qr_canvas_snapshot;
  widget_class->measure = qr_canvas_measure;
  changed_signal = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 0);
  selection_signal = g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                   NULL, G_TYPE_NONE, 0);
  widget_class->size_allocate = qr_canvas_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "canvas");
  gtk_widget_class_install_action (widget_class, "canvas.legend", NULL, action_legend);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, 0, "canvas.legend", NULL);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-in", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-out", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-fit", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-100", NULL, action_zoom);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "canvas.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "canvas.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_CONTROL_MASK, "canvas.zoom-100", NULL);
  gtk_widget_class_install_action (widget_class, "canvas.draw", NULL, qr_canvas_action_edit);
  gtk_widget_class_install_action (widget_class, "canvas.delete", NULL, qr_canvas_action_edit);
  gtk_widget_class_install_action (widget_class, "canvas.accept", NULL, qr_canvas_action_edit);
  gtk_widget_class_install_action (widget_class, "canvas.reject", NULL, qr_canvas_action_edit);
  gtk_widget_class_install_action (widget_class, "canvas.class", "i", qr_canvas_action_edit);
  gtk_widget_class_install_action (widget_class, "canvas.nudge", "(ii)", qr_canvas_action_edit);
  gtk_widget_class_install_action (widget_class, "canvas.pick-class", NULL, qr_canvas_action_pick_class);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c, 0, "canvas.pick-class", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_b, 0, "canvas.draw", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "canvas.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_BackSpace, 0, "canvas.delete", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, 0, "canvas.accept", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_a, 0, "canvas.accept", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_r, 0, "canvas.reject", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_x, 0, "canvas.reject", NULL);
  for (int k = 1; k <= 9; k++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + k - 1, 0, "canvas.class", "i", k);
  gtk_widget_class_install_action (widget_class, "canvas.pan", "(ii)", action_pan);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, 0, "canvas.pan", "(ii)", -1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, 0, "canvas.pan", "(ii)", 1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, 0, "canvas.pan", "(ii)", 0, -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, 0, "canvas.pan", "(ii)", 0, 1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "canvas.nudge", "(ii)", -1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Right, GDK_ALT_MASK, "canvas.nudge", "(ii)", 1, 0);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Up, GDK_ALT_MASK, "canvas.nudge", "(ii)", 0, -1);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Down, GDK_ALT_MASK, "canvas.nudge", "(ii)", 0, 1);
}

static void
qr_canvas_init (QrCanvas *self)
{
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  GtkGesture *drag = gtk_gesture_drag_new ();

  self->zoom = 1;
  self->threshold = 0.3;
  self->heat_opacity = 0.6;
  self->legend_on = TRUE;
  {
    GtkGesture *pinch = gtk_gesture_zoom_new ();
    GtkEventController *keys = gtk_event_controller_key_new ();
    g_signal_connect (pinch, "begin", G_CALLBACK (on_pinch_begin), self);
    g_signal_connect (pinch, "scale-changed", G_CALLBACK (on_pinch), self);
    gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (pinch));
    g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
    g_signal_connect (keys, "key-released", G_CALLBACK (on_key_released), self);
    gtk_widget_add_controller (GTK_WIDGET (self), keys);
  }
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (qr_canvas_on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (qr_canvas_on_drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (qr_canvas_on_drag_end), self);
  {
    GtkGesture *click = gtk_gesture_click_new ();
    g_signal_connect (click, "pressed", G_CALLBACK (qr_canvas_on_click), self);
    gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  }
  self->selected = -1;
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
}

void
qr_canvas_image_to_widget (QrCanvas *self, double ix, double iy, double *wx, double *wy)
{
  double ox, oy, s;
  qr_canvas_image_rect (self, &ox, &oy, &s);
  *wx = ox + ix * s;
  *wy = oy + iy * s;
}

GtkWidget *
qr_canvas_new (void)
{
  return g_object_new (QR_TYPE_CANVAS, NULL);
}

void
qr_canvas_set_image (QrCanvas *self, GdkTexture *texture, int width, int height)
{
  gboolean same_image = self->image_width == width && self->image_height == height && texture != NULL
                        && self->texture != NULL;

  g_set_object (&self->texture, texture);
  self->image_width = width;
  self->image_height = height;
  if (!same_image)
    qr_canvas_zoom_fit (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
qr_canvas_set_editing (QrCanvas *self, QrHistory *history, gint64 image_id)
{
  if (self->image_id != image_id)
    {
      self->selected = -1;
      self->draw_mode = FALSE;
    }
  g_set_object (&self->history, history);
  self->image_id = image_id;
}

int
qr_canvas_get_selected (QrCanvas *self)
{
  return self->selected;
}

void
qr_canvas_select (QrCanvas *self, int index)
{
  int selected = self->overlays != NULL && index >= 0 && (guint) index < self->overlays->len ? index : -1;
  if (selected == self->selected)
    return;
  self->selected = selected;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  qr_canvas_emit_selection (self);
}

void
qr_canvas_set_overlays (QrCanvas *self, GPtrArray *overlays)
{
  self->selected = -1;
  g_clear_pointer (&self->overlays, g_ptr_array_unref);
  self->overlays = overlays;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  qr_canvas_emit_changed (self);
}

GPtrArray *
qr_canvas_get_overlays (QrCanvas *self)
{
  return self->overlays;
}

gboolean
qr_canvas_is_box_visible (QrCanvas *self, guint index)
{
  return self->overlays != NULL && index < self->overlays->len && qr_canvas_box_visible (self, self->overlays->pdata[index]);
}

void
qr_canvas_set_heatmap (QrCanvas *self, GdkTexture *heatmap, double cell_size)
{
  g_set_object (&self->heatmap, heatmap);
  self->cell_size = cell_size;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
qr_canvas_set_highlight (QrCanvas *self, const QrBox *box)
{
  self->has_highlight = box != NULL;
  if (box != NULL)
    self->highlight = *box;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
qr_canvas_zoom_to_box (QrCanvas *self, const QrBox *box)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double base = base_scale (self, w, h), bw = MAX (box->x2 - box->x1, 8), bh = MAX (box->y2 - box->y1, 8);
  /* the box fills about 40% of the view, never less than the fit */
  double zoom = CLAMP (MIN (0.4 * w / (bw * base), 0.4 * h / (bh * base)), 1.0, 64.0);
  double s = base * zoom, cx = (box->x1 + box->x2) / 2, cy = (box->y1 + box->y2) / 2;

  if (w <= 0 || h <= 0 || self->image_width <= 0)
    return;
  self->zoom = zoom;
  /* ox = (w − W·s)/2 + pan_x; the box centre lands at the view's centre */
  self->pan_x = w / 2 - ((w - self->image_width * s) / 2 + cx * s);
  self->pan_y = h / 2 - ((h - self->image_height * s) / 2 + cy * s);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
qr_canvas_set_layer_visible (QrCanvas *self, const char *source, gboolean visible)
{
  if (self->hidden_sources == NULL)
    self->hidden_sources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  if (visible)
    g_hash_table_remove (self->hidden_sources, source);
  else
    g_hash_table_add (self->hidden_sources, g_strdup (source));
  gtk_widget_queue_draw (GTK_WIDGET (self));
  qr_canvas_emit_changed (self);
}

gboolean
qr_canvas_get_layer_visible (QrCanvas *self, const char *source)
{
  return self->hidden_sources == NULL || !g_hash_table_contains (self->hidden_sources, source);
}

void
qr_canvas_set_heatmap_opacity (QrCanvas *self, double opacity)
{
  self->heat_opacity = CLAMP (opacity, 0.0, 1.0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
qr_canvas_has_heatmap (QrCanvas *self)
{
  return self->heatmap != NULL;
}

GdkTexture *
qr_canvas_get_heatmap (QrCanvas *self, double *cell_size)
{
  if (cell_size != NULL)
    *cell_size = self->cell_size;
  return self->heatmap;
}

void
qr_canvas_set_score_threshold (QrCanvas *self, double threshold)
{
  self->threshold = threshold;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  qr_canvas_emit_changed (self);
}

void
qr_canvas_zoom_fit (QrCanvas *self)
{
  self->zoom = 1;
  self->pan_x = self->pan_y = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
qr_canvas_get_zoom (QrCanvas *self)
{
  return self->zoom;
}

guint
qr_canvas_get_n_visible_boxes (QrCanvas *self)
{
  guint n = 0;
  for (guint i = 0; self->overlays != NULL && i < self->overlays->len; i++)
    {
      QrOverlayBox *b = self->overlays->pdata[i];
      n += qr_canvas_box_visible (self, b);
    }
  return n;
}
