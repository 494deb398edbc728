"""The built-in wording of stakeholder messages; the admin's message templates override it.

Placeholders: $number $title $service $severity $severity_description
$commander $next_update $eta for the internal first notice and updates;
$public_name and $impact for what the public reads ($service and $title are
never used in a public text: they are internal names and the alert's words).
"""

DEFAULT_TEMPLATES = {
    "first_notice": {
        "en": (
            "We are aware of a problem affecting $service: $title.\n\n"
            "Our incident process is running ($severity_description). "
            "Incident commander: $commander.\n\n"
            "Next update by $next_update."
        ),
        "fr": (
            "Nous avons connaissance d'un problème touchant $service : $title.\n\n"
            "Notre processus d'incident est en cours ($severity_description). "
            "Responsable de l'incident : $commander.\n\n"
            "Prochaine mise à jour d'ici $next_update."
        ),
        "de": (
            "Wir wissen von einem Problem, das $service betrifft: $title.\n\n"
            "Unser Incident-Prozess läuft ($severity_description). "
            "Incident Commander: $commander.\n\n"
            "Nächstes Update bis $next_update."
        ),
        "it": (
            "Siamo al corrente di un problema che riguarda $service: $title.\n\n"
            "Il nostro processo di gestione dell'incidente è in corso ($severity_description). "
            "Responsabile dell'incidente: $commander.\n\n"
            "Prossimo aggiornamento entro $next_update."
        ),
    },
    "public_notice": {
        "en": "We are investigating an issue affecting $public_name. Next update by $next_update.",
        "fr": "Nous examinons un problème touchant $public_name. Prochaine mise à jour d'ici $next_update.",
        "de": "Wir untersuchen ein Problem, das $public_name betrifft. Nächstes Update bis $next_update.",
        "it": "Stiamo analizzando un problema che riguarda $public_name. Prossimo aggiornamento entro $next_update.",
    },
    "investigating": {
        "en": "We are investigating a problem affecting $public_name. Next update by $next_update.",
        "fr": "Nous examinons un problème touchant $public_name. Prochaine mise à jour d'ici $next_update.",
        "de": "Wir untersuchen ein Problem, das $public_name betrifft. Nächstes Update bis $next_update.",
        "it": "Stiamo analizzando un problema che riguarda $public_name. Prossimo aggiornamento entro $next_update.",
    },
    "identified": {
        "en": "We have identified the cause of the problem affecting $public_name and are working on a fix.",
        "fr": "Nous avons identifié la cause du problème touchant $public_name et préparons une correction.",
        "de": "Wir haben die Ursache des Problems mit $public_name gefunden und arbeiten an einer Lösung.",
        "it": "Abbiamo individuato la causa del problema che riguarda $public_name e stiamo lavorando a una soluzione.",
    },
    "monitoring": {
        "en": "A fix is in place for $public_name. We are monitoring the results.",
        "fr": "Une correction est en place pour $public_name. Nous surveillons les résultats.",
        "de": "Eine Lösung für $public_name ist eingespielt. Wir beobachten die Ergebnisse.",
        "it": "È stata applicata una soluzione per $public_name. Stiamo monitorando i risultati.",
    },
    "resolved": {
        "en": "The problem affecting $public_name is resolved. Thank you for your patience.",
        "fr": "Le problème touchant $public_name est résolu. Merci de votre patience.",
        "de": "Das Problem mit $public_name ist behoben. Vielen Dank für Ihre Geduld.",
        "it": "Il problema che riguardava $public_name è risolto. Grazie per la pazienza.",
    },
}
