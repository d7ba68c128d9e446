-- Transactional e-mail: versioned mustache templates and the outbox of messages to send.
-- See src/mail/mail.h for the statuses and docs/MAIL.md for the template variables.

CREATE TABLE mail_templates (
  id {{id}},
  template_key TEXT {{binary}} NOT NULL,
  locale TEXT {{binary}} NOT NULL,       -- "fr" or "en"
  version BIGINT NOT NULL,               -- 1, 2, ... per (template_key, locale); the highest is current
  subject TEXT NOT NULL,
  text_body TEXT NOT NULL,
  html_body TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (template_key, locale, version)
);

CREATE TABLE mail_messages (
  id {{id}},
  customer_id BIGINT,
  template_id BIGINT NOT NULL REFERENCES mail_templates(id),  -- the version that rendered it
  dedup_key TEXT {{binary}} UNIQUE,       -- NULL: no deduplication
  to_email TEXT NOT NULL,
  to_name TEXT NOT NULL,
  subject TEXT NOT NULL,
  text_body TEXT NOT NULL,
  html_body TEXT NOT NULL,
  status TEXT NOT NULL,                   -- queued, sending, sent, failed
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT,                 -- when a queued message is due
  claimed_until BIGINT,                   -- while sending: the lease of the worker that claimed it
  last_code INTEGER,                      -- SMTP reply code of the last attempt (0: no reply)
  last_reply TEXT,                        -- SMTP reply text of the last attempt, or the connection error
  message_id TEXT,                        -- RFC 5322 Message-ID, fixed at the first attempt
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  sent_at BIGINT
);
CREATE INDEX mail_messages_due ON mail_messages (status, next_attempt_at);
CREATE INDEX mail_messages_customer ON mail_messages (customer_id, id);

INSERT INTO mail_templates (template_key, locale, version, subject, text_body, html_body, created_at, created_by) VALUES
('order_confirmation', 'fr', 1,
'Votre commande {{order.number}} est confirmée',
'Bonjour{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}},

Merci pour votre commande ! Nous l’avons bien reçue et nous la préparons avec soin.

Commande n° {{order.number}}
{{#order.lines}}
- {{name}} (réf. {{sku}}) : {{quantity}} × {{unit_price}} = {{total}}
{{/order.lines}}

Frais de livraison : {{order.shipping}}
Total : {{order.total}}

Livraison : {{delivery.method}}
{{#delivery.address_lines}}
  {{.}}
{{/delivery.address_lines}}
{{#delivery.slot}}
Créneau de livraison : {{delivery.slot}}
{{/delivery.slot}}

Nous vous écrirons dès que votre colis sera expédié.
{{#order.tracking_link}}
Suivre votre commande : {{order.tracking_link}}
{{/order.tracking_link}}

À très bientôt,
{{#shop.name}}L’équipe {{shop.name}}{{/shop.name}}{{^shop.name}}Le service client{{/shop.name}}
',
'<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Votre commande {{order.number}} est confirmée</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #222; line-height: 1.5;">
<p>Bonjour{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}},</p>
<p>Merci pour votre commande&nbsp;! Nous l’avons bien reçue et nous la préparons avec soin.</p>
<h2 style="font-size: 18px;">Commande n° {{order.number}}</h2>
<table style="border-collapse: collapse; width: 100%;">
<tr><th align="left">Article</th><th align="left">Réf.</th><th align="right">Qté</th><th align="right">Prix unitaire</th><th align="right">Total</th></tr>
{{#order.lines}}
<tr><td>{{name}}</td><td>{{sku}}</td><td align="right">{{quantity}}</td><td align="right">{{unit_price}}</td><td align="right">{{total}}</td></tr>
{{/order.lines}}
<tr><td colspan="4" align="right">Livraison</td><td align="right">{{order.shipping}}</td></tr>
<tr><td colspan="4" align="right"><strong>Total</strong></td><td align="right"><strong>{{order.total}}</strong></td></tr>
</table>
<h2 style="font-size: 18px;">Livraison</h2>
<p>{{delivery.method}}{{#delivery.address_lines}}<br>{{.}}{{/delivery.address_lines}}</p>
{{#delivery.slot}}
<p>Créneau de livraison&nbsp;: <strong>{{delivery.slot}}</strong></p>
{{/delivery.slot}}
<p>Nous vous écrirons dès que votre colis sera expédié.</p>
{{#order.tracking_link}}<p><a href="{{order.tracking_link}}">Suivre votre commande</a></p>{{/order.tracking_link}}
<p>À très bientôt,<br>{{#shop.name}}L’équipe {{shop.name}}{{/shop.name}}{{^shop.name}}Le service client{{/shop.name}}</p>
</body>
</html>
',
{{now}}, 'fidelis'),
('order_confirmation', 'en', 1,
'Your order {{order.number}} is confirmed',
'Hello{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}},

Thank you for your order! We have received it and are getting it ready with care.

Order {{order.number}}
{{#order.lines}}
- {{name}} (SKU {{sku}}): {{quantity}} × {{unit_price}} = {{total}}
{{/order.lines}}

Delivery: {{order.shipping}}
Total: {{order.total}}

Delivery: {{delivery.method}}
{{#delivery.address_lines}}
  {{.}}
{{/delivery.address_lines}}
{{#delivery.slot}}
Delivery slot: {{delivery.slot}}
{{/delivery.slot}}

We will write again as soon as your parcel ships.
{{#order.tracking_link}}
Follow your order: {{order.tracking_link}}
{{/order.tracking_link}}

See you soon,
{{#shop.name}}The {{shop.name}} team{{/shop.name}}{{^shop.name}}Customer service{{/shop.name}}
',
'<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Your order {{order.number}} is confirmed</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #222; line-height: 1.5;">
<p>Hello{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}},</p>
<p>Thank you for your order! We have received it and are getting it ready with care.</p>
<h2 style="font-size: 18px;">Order {{order.number}}</h2>
<table style="border-collapse: collapse; width: 100%;">
<tr><th align="left">Item</th><th align="left">SKU</th><th align="right">Qty</th><th align="right">Unit price</th><th align="right">Total</th></tr>
{{#order.lines}}
<tr><td>{{name}}</td><td>{{sku}}</td><td align="right">{{quantity}}</td><td align="right">{{unit_price}}</td><td align="right">{{total}}</td></tr>
{{/order.lines}}
<tr><td colspan="4" align="right">Delivery</td><td align="right">{{order.shipping}}</td></tr>
<tr><td colspan="4" align="right"><strong>Total</strong></td><td align="right"><strong>{{order.total}}</strong></td></tr>
</table>
<h2 style="font-size: 18px;">Delivery</h2>
<p>{{delivery.method}}{{#delivery.address_lines}}<br>{{.}}{{/delivery.address_lines}}</p>
{{#delivery.slot}}
<p>Delivery slot: <strong>{{delivery.slot}}</strong></p>
{{/delivery.slot}}
<p>We will write again as soon as your parcel ships.</p>
{{#order.tracking_link}}<p><a href="{{order.tracking_link}}">Follow your order</a></p>{{/order.tracking_link}}
<p>See you soon,<br>{{#shop.name}}The {{shop.name}} team{{/shop.name}}{{^shop.name}}Customer service{{/shop.name}}</p>
</body>
</html>
',
{{now}}, 'fidelis'),
('order_shipped', 'fr', 1,
'Votre commande {{order.number}} a été expédiée',
'Bonjour{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}},

Bonne nouvelle : votre commande n° {{order.number}} vient de quitter notre entrepôt.

{{#tracking.number}}
Numéro de suivi : {{tracking.number}}
{{/tracking.number}}
{{#tracking.url}}
Suivre votre colis : {{tracking.url}}
{{/tracking.url}}

Livraison : {{delivery.method}}
{{#delivery.address_lines}}
  {{.}}
{{/delivery.address_lines}}
{{#delivery.slot}}
Livraison prévue : {{delivery.slot}}
{{/delivery.slot}}

Dans votre colis :
{{#order.lines}}
- {{name}} (réf. {{sku}}) × {{quantity}}
{{/order.lines}}

Total de la commande : {{order.total}}

À très bientôt,
{{#shop.name}}L’équipe {{shop.name}}{{/shop.name}}{{^shop.name}}Le service client{{/shop.name}}
',
'<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><title>Votre commande {{order.number}} a été expédiée</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #222; line-height: 1.5;">
<p>Bonjour{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}},</p>
<p>Bonne nouvelle&nbsp;: votre commande n° {{order.number}} vient de quitter notre entrepôt.</p>
{{#tracking.number}}
<p>Numéro de suivi&nbsp;: <strong>{{tracking.number}}</strong></p>
{{/tracking.number}}
{{#tracking.url}}
<p><a href="{{tracking.url}}" style="color: #0b5fff;">Suivre votre colis</a></p>
{{/tracking.url}}
<h2 style="font-size: 18px;">Livraison</h2>
<p>{{delivery.method}}{{#delivery.address_lines}}<br>{{.}}{{/delivery.address_lines}}</p>
{{#delivery.slot}}
<p>Livraison prévue&nbsp;: <strong>{{delivery.slot}}</strong></p>
{{/delivery.slot}}
<h2 style="font-size: 18px;">Dans votre colis</h2>
<ul>
{{#order.lines}}
<li>{{name}} (réf. {{sku}}) × {{quantity}}</li>
{{/order.lines}}
</ul>
<p>Total de la commande&nbsp;: <strong>{{order.total}}</strong></p>
<p>À très bientôt,<br>{{#shop.name}}L’équipe {{shop.name}}{{/shop.name}}{{^shop.name}}Le service client{{/shop.name}}</p>
</body>
</html>
',
{{now}}, 'fidelis'),
('order_shipped', 'en', 1,
'Your order {{order.number}} has shipped',
'Hello{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}},

Good news: your order {{order.number}} has left our warehouse.

{{#tracking.number}}
Tracking number: {{tracking.number}}
{{/tracking.number}}
{{#tracking.url}}
Track your parcel: {{tracking.url}}
{{/tracking.url}}

Delivery: {{delivery.method}}
{{#delivery.address_lines}}
  {{.}}
{{/delivery.address_lines}}
{{#delivery.slot}}
Expected delivery: {{delivery.slot}}
{{/delivery.slot}}

In your parcel:
{{#order.lines}}
- {{name}} (SKU {{sku}}) × {{quantity}}
{{/order.lines}}

Order total: {{order.total}}

See you soon,
{{#shop.name}}The {{shop.name}} team{{/shop.name}}{{^shop.name}}Customer service{{/shop.name}}
',
'<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Your order {{order.number}} has shipped</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; color: #222; line-height: 1.5;">
<p>Hello{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}},</p>
<p>Good news: your order {{order.number}} has left our warehouse.</p>
{{#tracking.number}}
<p>Tracking number: <strong>{{tracking.number}}</strong></p>
{{/tracking.number}}
{{#tracking.url}}
<p><a href="{{tracking.url}}" style="color: #0b5fff;">Track your parcel</a></p>
{{/tracking.url}}
<h2 style="font-size: 18px;">Delivery</h2>
<p>{{delivery.method}}{{#delivery.address_lines}}<br>{{.}}{{/delivery.address_lines}}</p>
{{#delivery.slot}}
<p>Expected delivery: <strong>{{delivery.slot}}</strong></p>
{{/delivery.slot}}
<h2 style="font-size: 18px;">In your parcel</h2>
<ul>
{{#order.lines}}
<li>{{name}} (SKU {{sku}}) × {{quantity}}</li>
{{/order.lines}}
</ul>
<p>Order total: <strong>{{order.total}}</strong></p>
<p>See you soon,<br>{{#shop.name}}The {{shop.name}} team{{/shop.name}}{{^shop.name}}Customer service{{/shop.name}}</p>
</body>
</html>
',
{{now}}, 'fidelis');
