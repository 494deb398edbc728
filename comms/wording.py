"""The built-in wording of stakeholder messages; the admin's message templates override it."""

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
    },
    "investigating": {
        "en": "We are investigating a problem affecting $service. Next update by $next_update.",
        "fr": "Nous examinons un problème touchant $service. Prochaine mise à jour d'ici $next_update.",
    },
    "identified": {
        "en": "We have identified the cause of the problem affecting $service and are working on a fix.",
        "fr": "Nous avons identifié la cause du problème touchant $service et préparons une correction.",
    },
    "monitoring": {
        "en": "A fix is in place for $service. We are monitoring the results.",
        "fr": "Une correction est en place pour $service. Nous surveillons les résultats.",
    },
    "resolved": {
        "en": "The problem affecting $service is resolved. Thank you for your patience.",
        "fr": "Le problème touchant $service est résolu. Merci de votre patience.",
    },
}
