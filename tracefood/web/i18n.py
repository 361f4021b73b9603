"""English and Québec French for the HTML pages: one small catalog, no gettext toolchain.

The pages have a few dozen messages, so a dict of message id -> {language: text} that a test
checks for completeness is easier to keep right than .po files. The language of a request is
``?lang=fr|en`` (remembered in a cookie), else that cookie, else the browser's Accept-Language,
else English. Messages with ``{name}`` fields are filled with :meth:`str.format`; Jinja escapes
the result like any other string.

Reasons that come from the ledger core (``"cannot ship 900: only 800 KGM ..."``) stay in
English: the core speaks one language, and the pages translate only the few that recur.
"""

from __future__ import annotations

from typing import Any

from flask import Request, Response

LANGUAGES = ("en", "fr")
DEFAULT = "en"
COOKIE = "tf_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
NAMES = {"en": "English", "fr": "Français"}

# French follows Québec usage (OQLF): « Récolte », « courriel », a non-breaking space before
# the colon, and « Se connecter ».
NBSP = "\u00a0"
CATALOG: dict[str, dict[str, str]] = {
    "app.tagline": {
        "en": "Tamper-evident traceability from field to shelf",
        "fr": "Traçabilité inviolable, du champ à l'étalage",
    },
    "skip": {"en": "Skip to content", "fr": "Passer au contenu"},
    "nav.label": {"en": "Main menu", "fr": "Menu principal"},
    "nav.home": {"en": "Home", "fr": "Accueil"},
    "nav.harvest": {"en": "Harvest", "fr": "Récolte"},
    "nav.ship": {"en": "Shipment", "fr": "Expédition"},
    "nav.receive": {"en": "Receipt", "fr": "Réception"},
    "nav.lots": {"en": "My lots", "fr": "Mes lots"},
    "nav.sign_in": {"en": "Sign in", "fr": "Se connecter"},
    "nav.sign_out": {"en": "Sign out", "fr": "Se déconnecter"},
    "lang.label": {"en": "Language", "fr": "Langue"},
    "home.title": {"en": "Traceability for producers", "fr": "Traçabilité pour les producteurs"},
    "home.intro": {
        "en": "Record your harvests, shipments and receipts, and see where your lots are.",
        "fr": "Inscrivez vos récoltes, expéditions et réceptions, et voyez où se trouvent vos lots.",
    },
    "home.signed_in_as": {
        "en": "Signed in as {party} ({role}).",
        "fr": "Vous êtes connecté en tant que {party} ({role}).",
    },
    "home.record": {"en": "Record an event", "fr": "Inscrire un événement"},
    "home.see": {"en": "See", "fr": "Consulter"},
    "sign_in.title": {"en": "Sign in", "fr": "Se connecter"},
    "sign_in.token": {"en": "Access token", "fr": "Jeton d'accès"},
    "sign_in.token_help": {
        "en": "Paste the token your administrator gave you (it starts with tf_).",
        "fr": "Collez le jeton que votre administrateur vous a remis (il commence par tf_).",
    },
    "sign_in.submit": {"en": "Sign in", "fr": "Se connecter"},
    "sign_in.bad": {
        "en": "This token is unknown, revoked or mistyped.",
        "fr": "Ce jeton est inconnu, révoqué ou mal saisi.",
    },
    "sign_in.too_many": {
        "en": "Too many failed sign-ins from this address: try again in {seconds} seconds.",
        "fr": f"Trop de connexions refusées depuis cette adresse{NBSP}: réessayez dans {{seconds}}{NBSP}secondes.",
    },
    "sign_in.needed": {"en": "Sign in to see this page.", "fr": "Connectez-vous pour voir cette page."},
    "flash.signed_in": {"en": "Signed in as {party}.", "fr": "Vous êtes connecté en tant que {party}."},
    "flash.signed_out": {"en": "Signed out.", "fr": "Vous êtes déconnecté."},
    "flash.recorded": {"en": "Recorded (seq {seq}).", "fr": "Enregistré (séq. {seq})."},
    "flash.already": {
        "en": "Already recorded (seq {seq}): nothing was added.",
        "fr": f"Déjà enregistré (séq. {{seq}}){NBSP}: rien n'a été ajouté.",
    },
    "record.harvest": {"en": "Record a harvest", "fr": "Inscrire une récolte"},
    "record.ship": {"en": "Record a shipment", "fr": "Inscrire une expédition"},
    "record.receive": {"en": "Record a receipt", "fr": "Inscrire une réception"},
    "submit.harvest": {"en": "Record the harvest", "fr": "Inscrire la récolte"},
    "submit.ship": {"en": "Record the shipment", "fr": "Inscrire l'expédition"},
    "submit.receive": {"en": "Record the receipt", "fr": "Inscrire la réception"},
    "form.required_note": {
        "en": "Fields marked * are required.",
        "fr": "Les champs marqués d'un * sont obligatoires.",
    },
    "form.errors_title": {
        "en": "Nothing was recorded. Please correct the following:",
        "fr": f"Rien n'a été enregistré. Veuillez corriger ce qui suit{NBSP}:",
    },
    "punct.colon": {"en": ": ", "fr": f"{NBSP}: "},
    "form.general": {"en": "Entry", "fr": "Saisie"},
    "form.choose": {"en": "Choose…", "fr": "Choisir…"},
    "form.none": {"en": "None", "fr": "Aucun"},
    "form.no_locations": {
        "en": "Your organisation has no registered location yet: ask the registry administrator to add one.",
        "fr": f"Votre entreprise n'a encore aucun site enregistré{NBSP}: "
        "demandez à l'administrateur du registre d'en ajouter un.",
    },
    "field.location.harvest": {"en": "Farm or field", "fr": "Ferme ou champ"},
    "field.location.ship": {"en": "Shipped from", "fr": "Expédié de"},
    "field.location.receive": {"en": "Received at", "fr": "Reçu à"},
    "field.to": {"en": "Destination", "fr": "Destination"},
    "field.from": {"en": "Shipped from (if known)", "fr": "Provenance (si connue)"},
    "field.carrier": {"en": "Carrier", "fr": "Transporteur"},
    "field.time": {"en": "Date and time", "fr": "Date et heure"},
    "field.tz": {"en": "Time zone", "fr": "Fuseau horaire"},
    "field.product": {"en": "Product", "fr": "Produit"},
    "field.lot": {"en": "Lot code", "fr": "Code de lot"},
    "field.lot_help": {
        "en": "Up to 20 characters, as printed on the label.",
        "fr": "Jusqu'à 20 caractères, tel qu'imprimé sur l'étiquette.",
    },
    "field.quantity": {"en": "Quantity", "fr": "Quantité"},
    "field.quantity_help": {"en": "A number, e.g. 1200 or 12.5", "fr": "Un nombre, p. ex. 1200 ou 12,5"},
    "field.unit": {"en": "Unit", "fr": "Unité"},
    "field.field": {"en": "Field, rows or greenhouse", "fr": "Champ, rangs ou serre"},
    "field.reference_type": {"en": "Document type", "fr": "Type de document"},
    "field.reference_number": {"en": "Document number", "fr": "Numéro du document"},
    "field.optional": {"en": "optional", "fr": "facultatif"},
    "unit.product": {"en": "The product's unit", "fr": "L'unité du produit"},
    "unit.KGM": {"en": "kilograms (KGM)", "fr": "kilogrammes (KGM)"},
    "unit.LBR": {"en": "pounds (LBR)", "fr": "livres (LBR)"},
    "unit.CS": {"en": "cases (CS)", "fr": "caisses (CS)"},
    "unit.H87": {"en": "pieces (H87)", "fr": "pièces (H87)"},
    "ref.bol": {"en": "Bill of lading", "fr": "Connaissement"},
    "ref.po": {"en": "Purchase order", "fr": "Bon de commande"},
    "ref.inv": {"en": "Invoice", "fr": "Facture"},
    "ref.desadv": {"en": "Despatch advice", "fr": "Avis d'expédition"},
    "ref.recadv": {"en": "Receiving advice", "fr": "Avis de réception"},
    "err.required": {"en": "required", "fr": "obligatoire"},
    "err.time_format": {
        "en": "enter a date and a time, e.g. 2026-08-12 06:30",
        "fr": "entrez une date et une heure, p. ex. 2026-08-12 06:30",
    },
    "err.time_gap": {
        "en": "this time does not exist in {tz} (the clocks jump forward an hour)",
        "fr": "cette heure n'existe pas dans le fuseau {tz} (on avance l'heure)",
    },
    "err.tz": {"en": "choose a time zone from the list", "fr": "choisissez un fuseau horaire dans la liste"},
    "err.quantity": {"en": "must be a number, e.g. 12.5", "fr": "doit être un nombre, p. ex. 12,5"},
    "lots.title": {"en": "My lots", "fr": "Mes lots"},
    "lots.intro": {
        "en": "The lots you hold, have in transit or first recorded, newest first.",
        "fr": "Les lots que vous détenez, que vous avez en transit ou que vous avez inscrits, "
        "les plus récents d'abord.",
    },
    "lots.empty": {
        "en": "No lots yet: record a harvest or a receipt.",
        "fr": f"Aucun lot pour l'instant{NBSP}: inscrivez une récolte ou une réception.",
    },
    "lots.lot": {"en": "Lot", "fr": "Lot"},
    "lots.status": {"en": "Status", "fr": "Statut"},
    "lots.on_hand": {"en": "On hand", "fr": "En stock"},
    "lots.in_transit": {"en": "In transit", "fr": "En transit"},
    "lots.to": {"en": "to {place}", "fr": "vers {place}"},
    "lots.ship": {"en": "Ship…", "fr": "Expédier…"},
    "lots.nothing": {"en": "none", "fr": "aucun"},
    "status.active": {"en": "Active", "fr": "Actif"},
    "status.on_hold": {"en": "On hold", "fr": "Retenu"},
    "status.recalled": {"en": "Recalled", "fr": "Rappelé"},
    "status.destroyed": {"en": "Destroyed", "fr": "Détruit"},
    "role.producer": {"en": "producer", "fr": "producteur"},
    "role.carrier": {"en": "carrier", "fr": "transporteur"},
    "role.inspector": {"en": "inspector", "fr": "inspecteur"},
    "role.recall_officer": {"en": "recall officer", "fr": "agent de rappel"},
    "role.admin": {"en": "administrator", "fr": "administrateur"},
    "error.csrf.title": {
        "en": "Form expired or not sent from this site",
        "fr": "Formulaire expiré ou envoyé d'ailleurs",
    },
    "error.csrf.body": {
        "en": "For your security this form was refused: its security token was missing or wrong. "
        "Nothing was recorded. Go back, reload the page and send the form again.",
        "fr": f"Par mesure de sécurité, ce formulaire a été refusé{NBSP}: son jeton de sécurité était absent "
        "ou invalide. Rien n'a été enregistré. Revenez en arrière, rechargez la page et envoyez de nouveau "
        "le formulaire.",
    },
    "error.forbidden.title": {"en": "Not allowed", "fr": "Accès refusé"},
    "error.forbidden.body": {
        "en": "Recording pages are for producers; you are signed in as {role}.",
        "fr": "Les pages d'inscription sont réservées aux producteurs; vous êtes connecté en tant que {role}.",
    },
    "error.home": {"en": "Back to the home page", "fr": "Retour à l'accueil"},
    # -- the label page (scanning) ------------------------------------------------------------
    "scan.checking": {"en": "Checking this label…", "fr": "Vérification de l'étiquette…"},
    "scan.check.local": {"en": "Signature checked on this device", "fr": "Signature vérifiée sur cet appareil"},
    "scan.check.server": {"en": "TraceFood server's verdict", "fr": "Verdict du serveur TraceFood"},
    "scan.pending": {"en": "checking…", "fr": "vérification…"},
    "scan.ok": {"en": "verified", "fr": "vérifiée"},
    "scan.failed": {"en": "refused", "fr": "refusée"},
    "scan.unavailable": {"en": "could not be checked", "fr": "vérification impossible"},
    "scan.insecure": {
        "en": "this browser cannot check signatures here (the page needs HTTPS)",
        "fr": "ce navigateur ne peut pas vérifier les signatures ici (la page exige HTTPS)",
    },
    "scan.unknown_key_local": {
        "en": "refused — the signing key is not published (unknown or revoked)",
        "fr": "refusée — la clé de signature n'est pas publiée (inconnue ou révoquée)",
    },
    "scan.disagree": {
        "en": "The server accepted it but this device did not: treat the label as suspect.",
        "fr": f"Le serveur l'accepte, mais pas cet appareil{NBSP}: considérez l'étiquette comme suspecte.",
    },
    "scan.signed_by": {"en": "signed by {party}", "fr": "signée par {party}"},
    "scan.verdict.genuine": {"en": "Genuine label — verified", "fr": "Étiquette authentique — vérifiée"},
    "scan.verdict.recalled": {
        "en": "Genuine label — verified — PRODUCT RECALLED",
        "fr": "Étiquette authentique — vérifiée — PRODUIT RAPPELÉ",
    },
    "scan.verdict.on_hold": {
        "en": "Genuine label — verified — lot ON HOLD",
        "fr": "Étiquette authentique — vérifiée — lot RETENU",
    },
    "scan.verdict.refused": {"en": "Label refused — do not trust it", "fr": "Étiquette refusée — ne vous y fiez pas"},
    "scan.noscript": {
        "en": "Turn on JavaScript to check this label's signature, or use `tracefood label verify`.",
        "fr": "Activez JavaScript pour vérifier la signature de cette étiquette, "
        "ou utilisez « tracefood label verify ».",
    },
    "scan.recalled.title": {"en": "RECALLED — do not sell or eat", "fr": "RAPPELÉ — ne pas vendre ni consommer"},
    "scan.recall.class": {"en": "Recall class", "fr": "Classe du rappel"},
    "scan.recall.reason": {"en": "Reason", "fr": "Motif"},
    "scan.recall.since": {"en": "Since", "fr": "Depuis le"},
    "scan.recall.contains": {"en": "Recalled lot inside", "fr": "Lot rappelé à l'intérieur"},
    "scan.recall.todo_title": {"en": "What to do:", "fr": f"Que faire{NBSP}:"},
    "scan.recall.todo": {
        "en": "Stop distribution and sale, set the product aside, and follow the recall officer's "
        "instructions (CFIA / FDA).",
        "fr": "Cessez la distribution et la vente, mettez le produit de côté et suivez les consignes de "
        "l'agent de rappel (ACIA / FDA).",
    },
    "scan.hold.title": {"en": "ON HOLD — do not move", "fr": "RETENU — ne pas déplacer"},
    "scan.hold.body": {
        "en": "An inspection put this lot on hold pending investigation.",
        "fr": "Une inspection a retenu ce lot en attendant l'enquête.",
    },
    "scan.sscc": {"en": "Logistic unit (pallet or container)", "fr": "Unité logistique (palette ou conteneur)"},
    "scan.producer": {"en": "Producer", "fr": "Producteur"},
    "scan.origin": {"en": "Origin", "fr": "Origine"},
    "scan.pack_date": {"en": "Packed or harvested", "fr": "Emballé ou récolté le"},
    "scan.contents": {"en": "Contents now", "fr": "Contenu actuel"},
    "scan.history": {"en": "Where it has been", "fr": "Son parcours"},
    "scan.public_view": {
        "en": "Public view: parties, quantities and documents are shown to signed-in inspectors.",
        "fr": f"Vue publique{NBSP}: les entreprises, quantités et documents sont affichés aux inspecteurs connectés.",
    },
    "scan.correction": {"en": "correction", "fr": "correction"},
    "scan.proof.title": {"en": "Ledger proof", "fr": "Preuve du registre"},
    "scan.proof.intro": {
        "en": "Each event above is checked in this page against the ledger's signed checkpoint ({size} entries).",
        "fr": "Chaque événement ci-dessus est vérifié dans cette page contre le point de contrôle signé du "
        "registre ({size} entrées).",
    },
    "scan.proof.entry": {"en": "Ledger entry {seq}:", "fr": f"Entrée {{seq}} du registre{NBSP}:"},
    "scan.proof.ok": {"en": "in the signed checkpoint", "fr": "dans le point de contrôle signé"},
    "scan.proof.summary": {
        "en": "{proven} of {total} events proven.",
        "fr": "{proven} événements sur {total} prouvés.",
    },
    "scan.proof.sig_ok": {
        "en": "Checkpoint signature verified with the ledger key {key}.",
        "fr": "Signature du point de contrôle vérifiée avec la clé du registre {key}.",
    },
    "scan.proof.sig_failed": {
        "en": "The checkpoint signature does not verify: do not trust this history.",
        "fr": f"La signature du point de contrôle ne se vérifie pas{NBSP}: ne vous fiez pas à cet historique.",
    },
    "scan.proof.checkpoint": {"en": "Signed checkpoint", "fr": "Point de contrôle signé"},
    "scan.proof.sig_unsupported": {
        "en": "This browser cannot check Ed25519 signatures: the checkpoint signature was not checked here.",
        "fr": "Ce navigateur ne sait pas vérifier les signatures Ed25519 : la signature du point de "
        "contrôle n'a pas été vérifiée ici.",
    },
    "scan.check.history": {
        "en": "Ledger history matches this device's earlier scans",
        "fr": "Historique du registre conforme aux lectures précédentes de cet appareil",
    },
    "scan.verdict.rewritten": {
        "en": "Ledger history changed — do not trust this label",
        "fr": "Historique du registre modifié — ne vous fiez pas à cette étiquette",
    },
    "scan.history.rewritten": {
        "en": "This server's history differs from what this device saw before: the ledger may have been rewritten.",
        "fr": "L'historique de ce serveur diffère de ce que cet appareil a vu auparavant : le registre "
        "a peut-être été réécrit.",
    },
    "scan.history.seen": {
        "en": "(This device verified {seen} entries before; the server now shows {size} and does not prove "
        "that one extends the other.)",
        "fr": "(Cet appareil a vérifié {seen} entrées auparavant ; le serveur en montre maintenant "
        "{size} sans prouver que l'un prolonge l'autre.)",
    },
    "scan.history.key_changed": {
        "en": "This ledger now signs with another key than the one this device saw before: it is not the "
        "history this device saw, and the ledger may have been replaced.",
        "fr": "Ce registre signe maintenant avec une autre clé que celle vue auparavant par cet appareil"
        "\N{NO-BREAK SPACE}: ce n'est pas l'historique que cet appareil a vu, et le registre a peut-être été remplacé.",
    },
    "scan.history.first": {
        "en": "first scan of this ledger on this device: its checkpoint ({size} entries) is remembered here",
        "fr": "première lecture de ce registre sur cet appareil : son point de contrôle ({size} "
        "entrées) est conservé ici",
    },
    "scan.history.same": {
        "en": "verified — the same {size} entries this device saw before",
        "fr": "vérifié — les mêmes {size} entrées que lors de la lecture précédente",
    },
    "scan.history.grew": {
        "en": "verified — extends the {seen} entries this device saw before (proof checked here); now {size}",
        "fr": "vérifié — prolonge les {seen} entrées vues auparavant par cet appareil (preuve vérifiée ici)"
        " ; maintenant {size}",
    },
    "scan.history.older": {
        "en": "verified — an older view ({size} entries) of the {seen} this device saw before (proof checked here)",
        "fr": "vérifié — une vue plus ancienne ({size} entrées) des {seen} vues auparavant par cet appareil "
        "(preuve vérifiée ici)",
    },
    "scan.history.no_memory": {
        "en": "this browser keeps no site data, so earlier scans cannot be compared",
        "fr": "ce navigateur ne conserve aucune donnée de site : impossible de comparer avec les lectures précédentes",
    },
    "scan.bad.title": {"en": "Not a valid label", "fr": "Étiquette non valide"},
    "scan.bad.body": {
        "en": "This address is not a valid GS1 Digital Link label: it may have been altered or misread.",
        "fr": f"Cette adresse n'est pas une étiquette GS1 Digital Link valide{NBSP}: elle a peut-être été modifiée "
        "ou mal lue.",
    },
    "scan.unknown.title": {"en": "Unknown lot — label refused", "fr": "Lot inconnu — étiquette refusée"},
    "scan.unknown.body": {
        "en": "No lot or logistic unit with this code was ever recorded in TraceFood. Treat the product as suspect.",
        "fr": "Aucun lot ni aucune unité logistique portant ce code n'a été inscrit dans TraceFood. "
        "Considérez le produit comme suspect.",
    },
    "verdict.genuine": {"en": "genuine label", "fr": "étiquette authentique"},
    "verdict.malformed": {"en": "not a TraceFood label address", "fr": "pas une adresse d'étiquette TraceFood"},
    "verdict.unsigned": {"en": "the label carries no signature", "fr": "l'étiquette ne porte aucune signature"},
    "verdict.unknown_version": {"en": "unknown label version", "fr": "version d'étiquette inconnue"},
    "verdict.malformed_signature": {"en": "the signature is malformed", "fr": "la signature est mal formée"},
    "verdict.truncated_signature": {"en": "the signature is truncated", "fr": "la signature est tronquée"},
    "verdict.extra_characters": {
        "en": "extra characters after the signature",
        "fr": "caractères en trop après la signature",
    },
    "verdict.unknown_key": {"en": "signed by an unknown key", "fr": "signée par une clé inconnue"},
    "verdict.revoked_key": {"en": "signed with a revoked key", "fr": "signée avec une clé révoquée"},
    "verdict.gtin_changed": {"en": "the GTIN was changed", "fr": "le GTIN a été modifié"},
    "verdict.lot_changed": {"en": "the lot code was changed", "fr": "le code de lot a été modifié"},
    "verdict.sscc_changed": {"en": "the SSCC was changed", "fr": "le SSCC a été modifié"},
    "verdict.tampered": {"en": "the label address was altered", "fr": "l'adresse de l'étiquette a été modifiée"},
    "verdict.bad_signature": {
        "en": "the signature does not match the label",
        "fr": "la signature ne correspond pas à l'étiquette",
    },
    "verdict.unknown_subject": {"en": "unknown lot", "fr": "lot inconnu"},
    "verdict.not_holder": {
        "en": "signed by a party that never held this lot",
        "fr": "signée par une entreprise qui n'a jamais détenu ce lot",
    },
    "verdict.not_issued": {
        "en": "this label was never issued by TraceFood",
        "fr": "cette étiquette n'a jamais été émise par TraceFood",
    },
    "kind.harvest": {"en": "Harvest", "fr": "Récolte"},
    "kind.commissioning": {"en": "Harvest or creation", "fr": "Récolte ou création"},
    "kind.cool": {"en": "Cooling", "fr": "Refroidissement"},
    "kind.storing": {"en": "Storage", "fr": "Entreposage"},
    "kind.initial_pack": {"en": "Initial packing", "fr": "Emballage initial"},
    "kind.transform": {"en": "Processing", "fr": "Transformation"},
    "kind.aggregate": {"en": "Loaded onto a pallet or container", "fr": "Chargé sur palette ou conteneur"},
    "kind.packing": {"en": "Packing", "fr": "Emballage"},
    "kind.loading": {"en": "Loading", "fr": "Chargement"},
    "kind.disaggregate": {"en": "Unloaded", "fr": "Déchargé"},
    "kind.unpacking": {"en": "Unpacking", "fr": "Déballage"},
    "kind.unloading": {"en": "Unloading", "fr": "Déchargement"},
    "kind.ship": {"en": "Shipped", "fr": "Expédié"},
    "kind.shipping": {"en": "Shipped", "fr": "Expédié"},
    "kind.receive": {"en": "Received", "fr": "Reçu"},
    "kind.receiving": {"en": "Received", "fr": "Reçu"},
    "kind.border_crossing": {"en": "Border crossing", "fr": "Passage de la frontière"},
    "kind.departing": {"en": "Left through the border", "fr": "Sorti par la frontière"},
    "kind.arriving": {"en": "Entered through the border", "fr": "Entré par la frontière"},
    "kind.inspect": {"en": "Inspection", "fr": "Inspection"},
    "kind.inspecting": {"en": "Inspection", "fr": "Inspection"},
    "kind.holding": {"en": "Hold or recall", "fr": "Retenue ou rappel"},
    "kind.recall": {"en": "Recall", "fr": "Rappel"},
    "kind.destroy": {"en": "Destroyed", "fr": "Détruit"},
    "kind.destroying": {"en": "Destroyed", "fr": "Détruit"},
    "label.refused": {"en": "Label not issued", "fr": "Étiquette non émise"},
    "label.print": {"en": "Print a label", "fr": "Imprimer une étiquette"},
    "label.format": {"en": "Label format", "fr": "Format d'étiquette"},
    "label.format.pdf4x6": {"en": "PDF, 4×6 in shipping label", "fr": "PDF, étiquette d'expédition 4×6 po"},
    "label.format.pdfletter": {"en": "PDF, sheet of case labels (Letter)", "fr": "PDF, feuille d'étiquettes (Lettre)"},
    "label.format.pdfa4": {"en": "PDF, sheet of case labels (A4)", "fr": "PDF, feuille d'étiquettes (A4)"},
    "label.format.png": {"en": "PNG image", "fr": "Image PNG"},
    "label.format.svg": {"en": "SVG image", "fr": "Image SVG"},
    "label.format.zpl": {"en": "ZPL (Zebra printer)", "fr": "ZPL (imprimante Zebra)"},
    # -- the recall officer's pages -------------------------------------------------------------
    "nav.recall": {"en": "Trace and recall", "fr": "Traçage et rappels"},
    "dash.title": {"en": "Trace and recall", "fr": "Traçage et rappels"},
    "dash.search": {"en": "Lot, SSCC, GTIN or farm", "fr": "Lot, SSCC, GTIN ou ferme"},
    "dash.search_help": {
        "en": "A lot or SSCC opens its trace; a GTIN, a lot code or a farm lists its lots.",
        "fr": "Un lot ou un SSCC ouvre son traçage; un GTIN, un code de lot ou une ferme en liste les lots.",
    },
    "dash.search_button": {"en": "Search", "fr": "Rechercher"},
    "dash.results": {"en": "Lots found", "fr": "Lots trouvés"},
    "dash.nothing": {"en": "No lot matches.", "fr": "Aucun lot ne correspond."},
    "dash.first": {"en": "First recorded", "fr": "Inscrit le"},
    "dash.recalls": {"en": "Recalls", "fr": "Rappels"},
    "dash.no_recalls": {"en": "No recall yet.", "fr": "Aucun rappel pour l'instant."},
    "dash.recall": {"en": "Recall", "fr": "Rappel"},
    "dash.lots": {"en": "Affected lots", "fr": "Lots visés"},
    "dash.status.open": {"en": "open", "fr": "en cours"},
    "dash.status.closed": {"en": "closed", "fr": "clos"},
    "dash.not_found": {"en": "Nothing to trace", "fr": "Rien à tracer"},
    "dash.trace_title": {"en": "Trace", "fr": "Traçage"},
    "dash.counts": {
        "en": "{back} lots upstream (itself included), {forward} lots made from it (itself included), "
        "{containers} containers, {holders} holdings now.",
        "fr": "{back} lots en amont (lui compris), {forward} lots qui en sont issus (lui compris), "
        "{containers} contenants, {holders} détentions actuelles.",
    },
    "dash.graph_title": {
        "en": "Trace graph: sources on the left, the lot searched, the lots made from it, holders on the right",
        "fr": f"Graphe de traçage{NBSP}: sources à gauche, le lot cherché, les lots qui en sont issus, "
        "détenteurs à droite",
    },
    "dash.col.sources": {"en": "Sources", "fr": "Sources"},
    "dash.col.start": {"en": "This lot", "fr": "Ce lot"},
    "dash.col.made": {"en": "Made from it", "fr": "Qui en sont issus"},
    "dash.col.holders": {"en": "Holders now", "fr": "Détenteurs actuels"},
    "dash.key.source": {"en": "source", "fr": "source"},
    "dash.key.start": {"en": "lot searched (contaminated)", "fr": "lot cherché (contaminé)"},
    "dash.key.affected": {"en": "affected lot", "fr": "lot visé"},
    "dash.key.holder": {"en": "holder", "fr": "détenteur"},
    "dash.holders": {"en": "Holders", "fr": "Détenteurs"},
    "dash.party": {"en": "Party", "fr": "Entreprise"},
    "dash.location": {"en": "Location", "fr": "Lieu"},
    "dash.from": {"en": "From", "fr": "De"},
    "dash.to": {"en": "To", "fr": "À"},
    "dash.exports": {"en": "Records for regulators", "fr": "Registres pour les autorités"},
    "dash.export.fsma_xlsx": {"en": "FSMA 204 spreadsheet (XLSX)", "fr": "Chiffrier FSMA 204 (XLSX)"},
    "dash.export.fsma_csv": {"en": "FSMA 204 spreadsheet (CSV)", "fr": "Chiffrier FSMA 204 (CSV)"},
    "dash.export.cfia": {
        "en": "CFIA one step back / forward (CSV)",
        "fr": f"ACIA{NBSP}: une étape en amont / en aval (CSV)",
    },
    "dash.export.epcis": {"en": "EPCIS 2.0 document", "fr": "Document EPCIS 2.0"},
    "dash.issue": {"en": "Issue a recall", "fr": "Lancer un rappel"},
    "dash.hazard": {"en": "Hazard", "fr": "Danger"},
    "dash.issue_button": {"en": "Recall these {lots} lots", "fr": "Rappeler ces {lots} lots"},
    "dash.recall_refused": {"en": "Recall not recorded", "fr": "Rappel non inscrit"},
    "dash.recall_opened": {
        "en": "Recall {id} opened: {lots} lots.",
        "fr": f"Rappel {{id}} lancé{NBSP}: {{lots}} lots.",
    },
    "dash.opened": {"en": "Opened", "fr": "Lancé le"},
    "dash.closed": {"en": "Closed", "fr": "Clos le"},
    "dash.effectiveness": {"en": "Effectiveness", "fr": "Efficacité"},
    "dash.acked": {
        "en": "{done} of {total} holders acknowledged",
        "fr": "{done} détenteurs sur {total} ont confirmé",
    },
    "dash.contact": {"en": "Contact", "fr": "Coordonnées"},
    "dash.incoming": {"en": "On the way to them", "fr": "En route vers eux"},
    "dash.ack": {"en": "Acknowledged", "fr": "Confirmé"},
    "dash.waiting": {"en": "waiting", "fr": "en attente"},
    "dash.note": {"en": "What you did (optional)", "fr": "Ce que vous avez fait (facultatif)"},
    "dash.ack_button": {"en": "Acknowledge this recall", "fr": "Confirmer ce rappel"},
    "dash.close_reason": {"en": "Why close it", "fr": "Motif de clôture"},
    "dash.close_button": {"en": "Close the recall", "fr": "Clore le rappel"},
}


def translate(lang: str, msgid: str, **fields: Any) -> str:
    """The message ``msgid`` in ``lang`` (English if missing there, the id if unknown)."""
    entry = CATALOG.get(msgid)
    if entry is None:
        return msgid
    text = entry.get(lang) or entry[DEFAULT]
    return text.format(**fields) if fields else text


def choose(request: Request) -> tuple[str, bool]:
    """(language for this request, whether ``?lang=`` asked for it and the cookie should change)."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked, True
    kept = request.cookies.get(COOKIE)
    if kept in LANGUAGES:
        return kept, False
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT, False


def remember(response: Response, lang: str, secure: bool) -> None:
    response.set_cookie(COOKIE, lang, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax", secure=secure)
