/* qr-canvas.c: see qr-canvas.h. The picture is a texture node; the boxes are drawn with cairo on
 * top (a vector path is simpler there). Zoom is relative to "fit": 1 shows the whole image. */
#define G_LOG_DOMAIN "quorum-canvas"

#include "qr-canvas.h"
#include "qr-catalog.h"

#include <math.h>

struct _QrCanvas
{
  GtkWidget   parent_instance;

  /* Owned references */
  GdkTexture *texture;
  GPtrArray  *overlays;    /* QrOverlayBox */

  int         image_width;
  int         image_height;
  double      zoom;        /* 1 = fit */
  double      pan_x;       /* offset of the image centre from the widget centre, widget pixels */
  double      pan_y;
  double      drag_start_x;
  double      drag_start_y;
  double      threshold;
};

G_DEFINE_FINAL_TYPE (QrCanvas, qr_canvas, GTK_TYPE_WIDGET)

/* A stable colour per class: GNOME's palette, picked by the name's hash. */
static void
class_colour (const char *name, GdkRGBA *rgba)
{
  static const char *const palette[] = { "#3584e4", "#e01b24", "#33d17a", "#f6d32d", "#ff7800", "#9141ac",
                                         "#00b4c4", "#e66100", "#2ec27e", "#c061cb", "#1c71d8", "#a51d2d" };
  gdk_rgba_parse (rgba, palette[g_str_hash (name) % G_N_ELEMENTS (palette)]);
}

static double
base_scale (QrCanvas *self, double width, double height)
{
  if (self->image_width <= 0 || self->image_height <= 0)
    return 1;
  return MIN (width / self->image_width, height / self->image_height);
}

static void
image_rect (QrCanvas *self, double *x, double *y, double *scale)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self)), h = gtk_widget_get_height (GTK_WIDGET (self));
  double s = base_scale (self, w, h) * self->zoom;

  *scale = s;
  *x = (w - self->image_width * s) / 2 + self->pan_x;
  *y = (h - self->image_height * s) / 2 + self->pan_y;
}

static void
draw_boxes (QrCanvas *self, cairo_t *cr, double ox, double oy, double s)
{
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size (cr, 12);
  for (guint i = 0; self->overlays != NULL && i < self->overlays->len; i++)
    {
      QrOverlayBox *b = self->overlays->pdata[i];
      double x1 = ox + b->box.x1 * s, y1 = oy + b->box.y1 * s, x2 = ox + b->box.x2 * s, y2 = oy + b->box.y2 * s;
      g_autofree char *text = NULL;
      cairo_text_extents_t ext;
      GdkRGBA c;
      const double dash[] = { 6, 4 };

      if (!b->is_label && b->score < self->threshold)
        continue;
      class_colour (b->class_name, &c);
      cairo_set_source_rgba (cr, c.red, c.green, c.blue, b->is_label ? 1.0 : 0.9);
      cairo_set_line_width (cr, b->is_label ? 3 : 2);
      cairo_set_dash (cr, dash, b->is_label ? 0 : 2, 0);
      cairo_rectangle (cr, x1, y1, x2 - x1, y2 - y1);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);

      text = b->is_label ? g_strdup (b->class_name) : g_strdup_printf ("%s %.2f · %s", b->class_name, b->score, b->source);
      cairo_text_extents (cr, text, &ext);
      cairo_rectangle (cr, x1 - 1, y1 - ext.height - 6, ext.x_advance + 8, ext.height + 6);
      cairo_fill (cr);
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_move_to (cr, x1 + 3, y1 - 4);
      cairo_show_text (cr, text);
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
  image_rect (self, &ox, &oy, &s);
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) w, (float) h));
  gtk_snapshot_append_texture (snapshot, self->texture,
                               &GRAPHENE_RECT_INIT ((float) ox, (float) oy, (float) (self->image_width * s),
                                                    (float) (self->image_height * s)));
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, (float) w, (float) h));
  draw_boxes (self, cr, ox, oy, s);
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
on_drag_begin (GtkGestureDrag *gesture, double x, double y, QrCanvas *self)
{
  self->drag_start_x = self->pan_x;
  self->drag_start_y = self->pan_y;
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, QrCanvas *self)
{
  self->pan_x = self->drag_start_x + dx;
  self->pan_y = self->drag_start_y + dy;
  gtk_widget_queue_draw (GTK_WIDGET (self));
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

static void
qr_canvas_dispose (GObject *object)
{
  QrCanvas *self = QR_CANVAS (object);

  g_clear_object (&self->texture);
  g_clear_pointer (&self->overlays, g_ptr_array_unref);
  G_OBJECT_CLASS (qr_canvas_parent_class)->dispose (object);
}

static void
qr_canvas_class_init (QrCanvasClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = qr_canvas_dispose;
  widget_class->snapshot = qr_canvas_snapshot;
  gtk_widget_class_set_css_name (widget_class, "canvas");
  gtk_widget_class_install_action (widget_class, "canvas.zoom-in", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-out", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-fit", NULL, action_zoom);
  gtk_widget_class_install_action (widget_class, "canvas.zoom-100", NULL, action_zoom);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_plus, 0, "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_equal, 0, "canvas.zoom-in", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_minus, 0, "canvas.zoom-out", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_0, 0, "canvas.zoom-fit", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, 0, "canvas.zoom-100", NULL);
}

static void
qr_canvas_init (QrCanvas *self)
{
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  GtkGesture *drag = gtk_gesture_drag_new ();

  self->zoom = 1;
  self->threshold = 0.3;
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (on_drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
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
qr_canvas_set_overlays (QrCanvas *self, GPtrArray *overlays)
{
  g_clear_pointer (&self->overlays, g_ptr_array_unref);
  self->overlays = overlays;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
qr_canvas_set_score_threshold (QrCanvas *self, double threshold)
{
  self->threshold = threshold;
  gtk_widget_queue_draw (GTK_WIDGET (self));
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
      n += b->is_label || b->score >= self->threshold;
    }
  return n;
}
