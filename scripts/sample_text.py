"""Sentence grammars for the sample crawl: natural-looking prose in English, German, French and Spanish.

Each language has hand-written slot lists (subjects, verb phrases, adverbials, connectors) and
sentence templates; a seeded RNG recombines them with per-domain topic nouns and place names.
Slot phrases are kept short so that most word 5-grams straddle two independently drawn slots:
that keeps unrelated pages far apart for near-duplicate detection, while every sentence stays
grammatical enough for fastText language ID and the Gopher/C4 quality heuristics.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

# ---------------------------------------------------------------------------------------------
# Per-language grammar. Verb entries: English/French/Spanish are one phrase taking a direct object;
# German ones are (finite verb, tail) pairs so that V2 order and verb-final clauses come out right.
# Objects: "{N}" is a plural topic noun (Spanish nouns carry their article), "{N2}" a second one.
# ---------------------------------------------------------------------------------------------

# fmt: off
GRAMMAR: dict[str, dict[str, list]] = {
    "en": {
        "subjects": [
            "the committee", "the city council", "our editorial team", "a small group of volunteers",
            "the new director", "the regional office", "my neighbour", "an independent researcher",
            "the school board", "the local library", "a young engineer", "the organising team",
            "the project lead", "an older colleague", "the health authority", "the board",
            "one of the founders", "a retired teacher", "the village association", "the press office",
            "our youngest member", "the working group", "a visiting professor", "the planning department",
            "the chief editor", "a careful reader", "the tenants' association", "the review panel",
            "my sister", "the transport agency",
        ],
        "verbs": [
            "decided to review", "agreed to support", "wanted to improve", "began to question",
            "tried to explain", "promised to protect", "refused to accept", "managed to repair",
            "offered to share", "planned to replace", "started to measure", "was asked to compare",
            "chose to publish", "hoped to expand", "needed to rethink", "was able to finish",
            "openly criticised", "carefully examined", "quietly rejected", "strongly defended",
            "briefly described", "finally approved", "postponed", "warmly welcomed", "closely followed",
            "had to cancel", "continued to monitor", "set out to document", "tried to simplify",
            "was proud to present",
        ],
        "objects": [
            "the {N}", "the {N} of the {N2}", "all of the {N}", "some of the {N} in {PLACE}", "the {ADJ} {N}",
            "a list of {N}", "about {NUM} of the {N}", "the {N} and the {N2}", "most of the {ADJ} {N}",
            "the {N} near {PLACE}",
        ],
        "adjectives": [
            "new", "old", "local", "small", "public", "recent", "popular", "expensive", "modern",
            "traditional", "difficult", "simple", "important", "unusual", "annual", "official", "private",
            "seasonal", "regional", "detailed", "familiar", "useful", "common", "early", "larger",
        ],
        "adverbials": [
            "during the last week", "before the end of the year", "after a long discussion",
            "with great care", "in the spring", "without much fuss", "for the first time",
            "on Monday morning", "in front of a large audience", "at the annual meeting", "over the summer",
            "despite the bad weather", "with the help of {NAME}", "in {PLACE}", "near {PLACE}",
            "after several months", "for the rest of the season", "in the early evening", "at short notice",
            "to the surprise of many", "as planned", "under the new rules", "in a short statement",
            "with a modest budget", "on behalf of the members", "in the autumn of {YEAR}",
            "during the holidays", "at the end of {MONTH}", "on {WEEKDAY}", "by the end of the month",
        ],
        "connectors": [
            "However,", "In addition,", "At the same time,", "For this reason,", "On the other hand,",
            "Meanwhile,", "As a result,", "In the end,", "Later that year,", "According to {NAME},",
            "Not surprisingly,", "Even so,", "Two weeks later,", "In practice,", "To be fair,", "Above all,",
            "At first,", "Since then,", "Only later,", "By contrast,",
        ],
        "templates": [
            "{C} {S} {V} {O} {A}.", "{S} {V} {O}, and {S2} {V2} {O2}.",
            "{S} {V} {O} {A} because {S2} {V2} {O2}.", "It was clear that {S} {V} {O} {A}.",
            "{A}, {S} {V} {O}.", "{S} {V} {O}, but {S2} {V2} {O2} {A2}.",
            "Many people believe that {S} {V} {O} {A}.", "{C} {S} {V} {O}, which surprised {S2}.",
            "When {S} {V} {O}, {S2} {V2} {O2}.", "{S} {V} {O} {A}, and that is why {S2} {V2} {O2}.",
            "I think that {S} {V} {O} {A}.", "{C} {S} {V} {O} with {S2}.",
        ],
        "titles": [
            "{N} and {N2} in {PLACE}", "A closer look at the {N} of the {N2}", "What we learned about {N}",
            "{ADJ} {N}: a short guide", "Notes on {N} and {N2}", "Why the {N} in {PLACE} matter",
            "The future of {ADJ} {N}", "How {PLACE} deals with {N}",
        ],
        "names": [
            "Sarah Mitchell", "David Okafor", "Emily Carter", "James Whitfield", "Priya Sharma",
            "Tom Henderson", "Laura Bennett", "Michael Chen", "Rachel Adams", "Daniel Brooks",
        ],
        "months": [
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December",
        ],
        "weekdays": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    },
    "de": {
        "subjects": [
            "der Ausschuss", "die Stadtverwaltung", "unsere Redaktion", "eine kleine Gruppe von Freiwilligen",
            "der neue Direktor", "das Regionalbüro", "mein Nachbar", "eine unabhängige Forscherin",
            "der Schulrat", "die örtliche Bibliothek", "ein junger Ingenieur", "das Organisationsteam",
            "die Projektleiterin", "ein älterer Kollege", "das Gesundheitsamt", "der Vorstand",
            "einer der Gründer", "eine pensionierte Lehrerin", "der Dorfverein", "die Pressestelle",
            "das jüngste Mitglied", "die Arbeitsgruppe", "ein Gastprofessor", "das Planungsamt",
            "die Chefredakteurin", "ein aufmerksamer Leser", "der Mieterverein", "die Prüfungskommission",
            "meine Schwester", "der Verkehrsverbund",
        ],
        "verbs": [
            ("prüfte", ""), ("wollte", "verbessern"), ("sollte", "vergleichen"), ("musste", "absagen"),
            ("konnte", "reparieren"), ("durfte", "veröffentlichen"), ("hat", "untersucht"),
            ("hat", "kritisiert"), ("hat", "verteidigt"), ("hat", "beschrieben"), ("hat", "genehmigt"),
            ("hat", "verschoben"), ("hat", "begrüßt"), ("hat", "beobachtet"), ("hat", "dokumentiert"),
            ("hat", "vereinfacht"), ("hat", "vorgestellt"), ("hat", "abgelehnt"), ("hat", "unterstützt"),
            ("wollte", "schützen"), ("wollte", "erweitern"), ("musste", "überdenken"), ("lobte", ""),
            ("untersuchte", ""), ("kritisierte", ""), ("beschrieb", ""), ("verteidigte", ""),
            ("veröffentlichte", ""), ("ersetzte", ""), ("übernahm", ""),
        ],
        "objects": [
            "die {N}", "die {N} der {N2}", "einige {N} in {PLACE}", "alle {N}", "die {ADJ} {N}",
            "etwa {NUM} der {N}", "die {N} und die {N2}", "die {N} aus {PLACE}", "fast alle {ADJ} {N}",
            "die {ADJ} {N} der {N2}",
        ],
        "adjectives": [
            "neuen", "alten", "örtlichen", "kleinen", "öffentlichen", "aktuellen", "beliebten", "teuren",
            "modernen", "traditionellen", "schwierigen", "einfachen", "wichtigen", "ungewöhnlichen",
            "jährlichen", "offiziellen", "privaten", "regionalen", "ausführlichen", "bekannten", "nützlichen",
            "größeren",
        ],
        "adverbials": [
            "in der letzten Woche", "vor dem Ende des Jahres", "nach einer langen Diskussion",
            "mit großer Sorgfalt", "im Frühjahr", "ohne viel Aufhebens", "zum ersten Mal", "am Montagmorgen",
            "vor einem großen Publikum", "bei der Jahresversammlung", "im Laufe des Sommers",
            "trotz des schlechten Wetters", "mit der Hilfe von {NAME}", "in {PLACE}",
            "in der Nähe von {PLACE}", "nach mehreren Monaten", "für den Rest der Saison", "am frühen Abend",
            "sehr kurzfristig", "zur Überraschung vieler", "wie geplant", "nach den neuen Regeln",
            "in einer kurzen Erklärung", "mit einem bescheidenen Budget", "im Namen der Mitglieder",
            "im Herbst {YEAR}", "während der Ferien", "Ende {MONTH}", "am {WEEKDAY}",
            "bis zum Ende des Monats",
        ],
        "connectors": [
            "Außerdem", "Trotzdem", "Gleichzeitig", "Deshalb", "Danach", "Inzwischen", "Am Ende", "Später",
            "Zunächst", "Seitdem", "Dennoch", "Zwei Wochen später", "In der Praxis", "Vor allem",
            "Allerdings", "Tatsächlich", "Damals", "Letztlich", "Anschließend", "Laut {NAME}",
        ],
        "templates": [
            "{S} {VF} {O} {A} {VR}.", "{C} {VF} {S} {O} {A} {VR}.", "{S} {VF} {O} {VR}, weil {SUB2}.",
            "Es war klar, dass {SUB}.", "{S} {VF} {O} {A} {VR}, aber {S2} {VF2} {O2} {VR2}.",
            "{S} {VF} {O} {VR}, und {S2} {VF2} {O2} {A2} {VR2}.", "Viele Leute glauben, dass {SUB}.",
            "Als {SUB}, {VF2} {S2} {O2} {VR2}.", "Ich denke, dass {SUB}.", "{A} {VF} {S} {O} {VR}.",
        ],
        "titles": [
            "{N} und {N2} in {PLACE}", "Ein genauer Blick auf die {N} der {N2}",
            "Was wir über {N} gelernt haben", "Neue Regeln für {N} in {PLACE}", "Die Zukunft der {ADJ} {N}",
            "Wie {PLACE} mit {N} umgeht",
        ],
        "names": [
            "Anna Keller", "Jonas Becker", "Miriam Hoffmann", "Lukas Schneider", "Sabine Wagner",
            "Felix Braun", "Katrin Vogel", "Thomas Richter", "Julia Neumann", "Stefan Krüger",
        ],
        "months": [
            "Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
            "November", "Dezember",
        ],
        "weekdays": ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"],
    },
    "fr": {
        "subjects": [
            "le comité", "la mairie", "notre rédaction", "un petit groupe de bénévoles",
            "le nouveau directeur", "le bureau régional", "mon voisin", "une chercheuse indépendante",
            "le conseil scolaire", "la bibliothèque du quartier", "un jeune ingénieur",
            "l'équipe d'organisation", "la cheffe de projet", "un ancien collègue", "l'agence de santé",
            "le conseil d'administration", "l'un des fondateurs", "une institutrice à la retraite",
            "l'association du village", "le service de presse", "notre plus jeune membre",
            "le groupe de travail", "un professeur invité", "le service d'urbanisme", "la rédactrice en chef",
            "une lectrice attentive", "l'association des locataires", "le jury", "ma sœur",
            "la société de transport",
        ],
        "verbs": [
            "a décidé de revoir", "a accepté de soutenir", "voulait améliorer", "a commencé à étudier",
            "a essayé d'expliquer", "a promis de protéger", "a refusé d'accepter", "a réussi à réparer",
            "a proposé de partager", "prévoyait de remplacer", "a commencé à mesurer", "a dû comparer",
            "a choisi de publier", "espérait développer", "devait repenser", "a pu terminer",
            "a critiqué ouvertement", "a examiné attentivement", "a rejeté discrètement",
            "a défendu fermement", "a décrit brièvement", "a finalement approuvé", "a reporté plusieurs fois",
            "a accueilli avec joie", "a suivi de près", "a dû annuler", "a continué à surveiller",
            "a voulu documenter", "a tenté de simplifier", "était fier de présenter",
        ],
        "objects": [
            "les {N}", "les {N} des {N2}", "les {N} de {PLACE}", "la plupart des {N}", "une partie des {N}",
            "plusieurs {N}", "les {N} du quartier", "quelques {N}", "environ {NUM} des {N}",
            "les {N} et les {N2}",
        ],
        "adjectives": [],
        "adverbials": [
            "la semaine dernière", "avant la fin de l'année", "après une longue discussion",
            "avec beaucoup de soin", "au printemps", "sans faire de bruit", "pour la première fois",
            "lundi matin", "devant un large public", "lors de l'assemblée annuelle", "pendant l'été",
            "malgré le mauvais temps", "avec l'aide de {NAME}", "à {PLACE}", "près de {PLACE}",
            "après plusieurs mois", "pour le reste de la saison", "en début de soirée", "au dernier moment",
            "à la surprise générale", "comme prévu", "selon les nouvelles règles", "dans un bref communiqué",
            "avec un budget modeste", "au nom des membres", "à l'automne {YEAR}", "pendant les vacances",
            "à la fin du mois de {MONTH}", "le {WEEKDAY} suivant", "avant la fin du mois",
        ],
        "connectors": [
            "Cependant,", "En outre,", "En même temps,", "Pour cette raison,", "En revanche,",
            "Pendant ce temps,", "Par conséquent,", "Finalement,", "Plus tard,", "Selon {NAME},",
            "Sans surprise,", "Malgré tout,", "Deux semaines plus tard,", "En pratique,", "Il faut dire que",
            "Surtout,", "Au début,", "Depuis,", "Ensuite,", "Par ailleurs,",
        ],
        "templates": [
            "{C} {S} {V} {O} {A}.", "{S} {V} {O}, et {S2} {V2} {O2}.",
            "{S} {V} {O} {A} parce que {S2} {V2} {O2}.", "Il était clair que {S} {V} {O} {A}.",
            "{A}, {S} {V} {O}.", "{S} {V} {O}, mais {S2} {V2} {O2} {A2}.",
            "Beaucoup de gens pensent que {S} {V} {O} {A}.", "Quand {S} {V} {O}, {S2} {V2} {O2}.",
            "Je pense que {S} {V} {O} {A}.", "{C} {S} {V} {O} avec {S2}.",
        ],
        "titles": [
            "Les {N} et les {N2} à {PLACE}", "Un regard sur les {N} des {N2}",
            "Ce que nous avons appris sur les {N}", "Notes sur les {N} de {PLACE}", "L'avenir des {N}",
        ],
        "names": [
            "Claire Dubois", "Julien Moreau", "Camille Laurent", "Nicolas Girard", "Sophie Lefèvre",
            "Mathieu Roux", "Élodie Fontaine", "Antoine Mercier", "Manon Chevalier", "Hugo Lambert",
        ],
        "months": [
            "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
            "novembre", "décembre",
        ],
        "weekdays": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
    },
    "es": {
        "subjects": [
            "el comité", "el ayuntamiento", "nuestra redacción", "un pequeño grupo de voluntarios",
            "el nuevo director", "la oficina regional", "mi vecino", "una investigadora independiente",
            "el consejo escolar", "la biblioteca del barrio", "un joven ingeniero", "el equipo organizador",
            "la jefa del proyecto", "un antiguo colega", "la autoridad sanitaria", "la junta directiva",
            "uno de los fundadores", "una maestra jubilada", "la asociación del pueblo",
            "la oficina de prensa", "nuestro socio más joven", "el grupo de trabajo", "un profesor invitado",
            "el departamento de urbanismo", "la redactora jefe", "una lectora atenta",
            "la asociación de inquilinos", "el jurado", "mi hermana", "la empresa de transporte",
        ],
        "verbs": [
            "decidió revisar", "aceptó apoyar", "quería mejorar", "empezó a estudiar", "intentó explicar",
            "prometió proteger", "se negó a aceptar", "logró reparar", "ofreció compartir",
            "planeaba sustituir", "comenzó a medir", "tuvo que comparar", "eligió publicar",
            "esperaba ampliar", "necesitaba repensar", "pudo terminar", "criticó abiertamente",
            "examinó con cuidado", "rechazó en silencio", "defendió con firmeza", "describió brevemente",
            "aprobó finalmente", "aplazó varias veces", "recibió con alegría", "siguió de cerca",
            "tuvo que cancelar", "siguió vigilando", "quiso documentar", "trató de simplificar",
            "presentó con orgullo",
        ],
        "objects": [
            "{N}", "{N} de {N2}", "{N} de {PLACE}", "la mayoría de {N}", "parte de {N}", "{ALL} {N}",
            "unos {NUM} de {N}", "{N} y {N2}", "{N} del barrio", "algunos de {N}",
        ],
        "adjectives": [],
        "adverbials": [
            "la semana pasada", "antes de que termine el año", "después de una larga discusión",
            "con mucho cuidado", "en primavera", "sin hacer ruido", "por primera vez",
            "el lunes por la mañana", "ante un gran público", "durante la asamblea anual",
            "durante el verano", "a pesar del mal tiempo", "con la ayuda de {NAME}", "en {PLACE}",
            "cerca de {PLACE}", "después de varios meses", "durante el resto de la temporada",
            "al caer la tarde", "en el último momento", "para sorpresa de todos", "como estaba previsto",
            "según las nuevas normas", "en un breve comunicado", "con un presupuesto modesto",
            "en nombre de los socios", "en el otoño de {YEAR}", "durante las vacaciones",
            "a finales de {MONTH}", "el {WEEKDAY} siguiente", "antes de fin de mes",
        ],
        "connectors": [
            "Sin embargo,", "Además,", "Al mismo tiempo,", "Por esta razón,", "En cambio,", "Mientras tanto,",
            "Como resultado,", "Al final,", "Más tarde,", "Según {NAME},", "Como era de esperar,", "Aun así,",
            "Dos semanas después,", "En la práctica,", "Hay que decir que", "Sobre todo,", "Al principio,",
            "Desde entonces,", "Luego,", "Por otra parte,",
        ],
        "templates": [
            "{C} {S} {V} {O} {A}.", "{S} {V} {O}, y {S2} {V2} {O2}.",
            "{S} {V} {O} {A} porque {S2} {V2} {O2}.", "Estaba claro que {S} {V} {O} {A}.",
            "{A}, {S} {V} {O}.", "{S} {V} {O}, pero {S2} {V2} {O2} {A2}.",
            "Mucha gente cree que {S} {V} {O} {A}.", "Cuando {S} {V} {O}, {S2} {V2} {O2}.",
            "Creo que {S} {V} {O} {A}.", "{C} {S} {V} {O} junto con {S2}.",
        ],
        "titles": [
            "{N} y {N2} en {PLACE}", "Una mirada a {N} de {N2}", "Lo que aprendimos sobre {N}",
            "Notas sobre {N} de {PLACE}", "El futuro de {N}",
        ],
        "names": [
            "Lucía Fernández", "Javier Morales", "Carmen Ruiz", "Pablo Navarro", "Elena Castillo",
            "Diego Romero", "Marta Delgado", "Sergio Ortega", "Isabel Vega", "Andrés Molina",
        ],
        "months": [
            "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
            "noviembre", "diciembre",
        ],
        "weekdays": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
    },
}
# fmt: on


@dataclass(frozen=True)
class Topic:
    """A domain's vocabulary: plural nouns, places, and optional extra subjects / verbs / adverbials.

    Extra lists are mixed with the language's generic ones so that a docs site sounds like a docs
    site while still sharing the grammar (and its stop words) with the rest of the language.
    """

    lang: str
    nouns: list[str]
    places: list[str]
    subjects: list[str] = field(default_factory=list)
    verbs: list = field(default_factory=list)
    adverbials: list[str] = field(default_factory=list)
    own_share: float = 0.5
    titles: list[str] = field(default_factory=list)


_SPACES = re.compile(r"\s+([,.])|\s{2,}")


def _tidy(s: str) -> str:
    s = _SPACES.sub(lambda m: m.group(1) or " ", s).strip()
    # French elision for the few subjects/objects that start with a vowel after "que".
    s = re.sub(r"\bque (une?|il|elle|on)\b", r"qu'\1", s)
    return s[0].upper() + s[1:]


class ProseGenerator:
    """Seeded sentence / paragraph / title generator for one topic."""

    def __init__(self, topic: Topic, rng: random.Random) -> None:
        self.topic, self.rng = topic, rng
        self.g = GRAMMAR[topic.lang]

    def _pick(self, key: str, own: list) -> object:
        if own and self.rng.random() < self.topic.own_share:
            return self.rng.choice(own)
        return self.rng.choice(self.g[key])

    def _fill(self, text: str) -> str:
        """Fill the leaf placeholders ({N}, {PLACE}, {NAME}, ...) of a phrase."""
        r, g, t = self.rng, self.g, self.topic
        n1, n2 = r.sample(t.nouns, 2)
        leaves = {
            "{N}": n1,
            "{N2}": n2,
            "{ADJ}": r.choice(g["adjectives"]) if g["adjectives"] else "",
            "{PLACE}": r.choice(t.places),
            "{NAME}": r.choice(g["names"]),
            "{NUM}": str(r.randint(3, 480)),
            "{YEAR}": str(r.randint(1998, 2023)),
            "{MONTH}": r.choice(g["months"]),
            "{WEEKDAY}": r.choice(g["weekdays"]),
            "{ALL}": "todos" if n1.startswith("los ") else "todas",
        }
        for k, v in leaves.items():
            text = text.replace(k, v)
        return text

    def _slots(self, suffix: str) -> dict[str, str]:
        t = self.topic
        verb = self._pick("verbs", t.verbs)
        slots = {
            "S": self._fill(str(self._pick("subjects", t.subjects))),
            "O": self._fill(self.rng.choice(self.g["objects"])),
            "A": self._fill(str(self._pick("adverbials", t.adverbials))),
            "C": self._fill(self.rng.choice(self.g["connectors"])),
        }
        if isinstance(verb, tuple):  # German: finite verb + tail, plus a verb-final subordinate clause
            slots["VF"], slots["VR"] = verb
            tail = f"{verb[1]} {verb[0]}" if verb[1] else verb[0]
            slots["SUB"] = f"{slots['S']} {slots['O']} {slots['A']} {tail}"
        else:
            slots["V"] = verb
        return {k + suffix: v for k, v in slots.items()}

    def sentence(self) -> str:
        template = self.rng.choice(self.g["templates"])
        slots = self._slots("") | self._slots("2")
        out = re.sub(r"\{([A-Z]+2?)\}", lambda m: slots.get(m.group(1), ""), template)
        return _tidy(out)

    def paragraphs(self, n_words: int) -> list[str]:
        """Paragraphs of 2-7 sentences until about n_words words."""
        paras: list[str] = []
        words = 0
        while words < n_words:
            sents = [self.sentence() for _ in range(self.rng.randint(2, 7))]
            para = " ".join(sents)
            paras.append(para)
            words += len(para.split())
        return paras

    def title(self) -> str:
        return _tidy(self._fill(self.rng.choice(self.topic.titles or self.g["titles"])))

    def person(self) -> str:
        return self.rng.choice(self.g["names"])


# Topic vocabularies, one per site. Spanish nouns carry their article (gender decides los/las).
# fmt: off
TOPICS: dict[str, Topic] = {
    "docs": Topic(
        "en",
        nouns=[
            "functions", "modules", "exceptions", "arguments", "iterators", "decorators", "classes",
            "threads", "files", "buffers", "paths", "sockets", "records", "warnings", "encodings", "tasks",
            "queues", "locks", "objects", "attributes", "keywords", "packages", "streams", "timers",
            "handlers", "callbacks", "generators", "descriptors",
        ],
        places=[
            "the standard library", "the tutorial", "the reference manual", "the test suite", "version 3.12",
        ],
        subjects=[
            "the interpreter", "the standard library", "this module", "the compiler", "the garbage collector",
            "the import system", "the test runner", "the package manager", "each worker thread",
            "the event loop", "the default handler", "the parser",
        ],
        verbs=[
            "returns", "raises an error for", "accepts", "creates", "closes", "validates", "converts",
            "stores", "reads", "writes", "ignores", "copies", "caches", "sorts", "compares", "updates",
            "wraps", "schedules", "releases", "registers", "loads", "formats", "checks", "removes",
            "collects",
        ],
        adverbials=[
            "by default", "when the flag is set", "in most cases", "since version 3.{NUM}",
            "on every platform", "without blocking", "in a separate thread", "at start-up",
            "when it is called", "for each item", "before the program exits", "if the timeout expires",
            "in the same order", "on demand", "only once", "after the lock is released",
        ],
        own_share=0.75,
        titles=[
            "Working with {N}", "{N} and {N2}", "Reference: {N}", "How to handle {N}", "Built-in {N}",
            "Managing {N} and {N2}", "{ADJ} {N} in {PLACE}",
        ],
    ),
    "wiki": Topic(
        "en",
        nouns=[
            "rivers", "castles", "railways", "bridges", "mountains", "islands", "harbours", "churches",
            "museums", "forests", "villages", "canals", "mines", "lighthouses", "universities", "newspapers",
            "monasteries", "dialects", "festivals", "battles", "treaties", "kingdoms", "settlements", "coins",
            "manuscripts", "lakes",
        ],
        places=[
            "Northumbria", "the Lake District", "Cornwall", "the Hebrides", "Anglesey", "Yorkshire",
            "the Severn valley", "Kent", "Galloway", "the Fens",
        ],
        subjects=[
            "the historian", "the early settlers", "a later survey", "the duke", "the parish",
            "the royal commission", "a local archaeologist", "the railway company", "the county",
            "the first edition",
        ],
    ),
    "news": Topic(
        "en",
        nouns=[
            "elections", "budgets", "hospitals", "schools", "bus routes", "housing plans", "tax rules",
            "flood defences", "wages", "energy prices", "railway lines", "police reports", "parks",
            "court cases", "trade deals", "farm subsidies", "water bills", "cycle lanes", "job figures",
            "rents", "pensions", "airports", "speed limits", "exam results",
        ],
        places=[
            "Millbrook", "Ashford", "Riverside", "Kingsport", "Eastwood", "Port Avery", "Hollowell",
            "Bramley", "Westgate", "Fairhaven",
        ],
        subjects=[
            "the mayor", "the minister", "the union", "the opposition", "a spokesperson",
            "the finance office", "the regulator", "the police", "local residents", "the court",
        ],
    ),
    "garden": Topic(
        "en",
        nouns=[
            "tomatoes", "roses", "seedlings", "raised beds", "slugs", "compost heaps", "fruit trees",
            "hedges", "potatoes", "herbs", "greenhouses", "bulbs", "lawns", "beans", "strawberries", "ponds",
            "climbing plants", "weeds", "bird feeders", "leeks",
        ],
        places=[
            "the allotment", "my back garden", "the greenhouse", "the orchard", "the vegetable patch",
            "the front yard", "the shed",
        ],
        subjects=[
            "my wife", "our allotment group", "a friend of mine", "the old gardener", "my son",
            "the seed club", "my uncle", "the lady next door",
        ],
    ),
    "recipes": Topic(
        "en",
        nouns=[
            "onions", "carrots", "lentils", "mushrooms", "apples", "noodles", "pancakes", "dumplings",
            "spices", "sauces", "soups", "pies", "biscuits", "peppers", "chickpeas", "lemons", "herbs",
            "potatoes", "tomatoes", "eggs", "leftovers", "flatbreads",
        ],
        places=[
            "the kitchen", "my grandmother's kitchen", "the market", "the farm shop", "the oven",
            "the garden",
        ],
        subjects=[
            "my grandmother", "my husband", "our youngest", "the whole family", "a reader", "my mother",
            "the baker down the road", "my best friend",
        ],
    ),
    "tech": Topic(
        "en",
        nouns=[
            "unit tests", "pull requests", "compilers", "databases", "containers", "APIs", "log files",
            "benchmarks", "caches", "dependencies", "build scripts", "servers", "laptops", "keyboards",
            "editors", "frameworks", "migrations", "queries", "deployments", "error messages",
        ],
        places=[
            "production", "our staging cluster", "the office", "the data centre", "the repository",
            "the cloud", "my laptop",
        ],
        subjects=[
            "our team", "my manager", "a colleague", "the intern", "the maintainers", "the on-call engineer",
            "the reviewer", "the vendor", "a contributor",
        ],
    ),
    "shop": Topic(
        "en",
        nouns=[
            "jackets", "boots", "backpacks", "tents", "lamps", "kettles", "blankets", "watches", "headphones",
            "chairs", "mugs", "scarves", "gloves", "umbrellas", "bicycles", "helmets", "towels", "candles",
        ],
        places=["the warehouse", "our store", "the showroom", "the factory", "the workshop"],
        subjects=[
            "our designer", "the customer", "the supplier", "our team", "the manufacturer", "one buyer",
            "the workshop",
        ],
    ),
    "de_news": Topic(
        "de",
        nouns=[
            "Wahlen", "Haushalte", "Krankenhäuser", "Schulen", "Buslinien", "Baupläne", "Steuerregeln",
            "Deiche", "Löhne", "Energiepreise", "Bahnstrecken", "Polizeiberichte", "Parks",
            "Gerichtsverfahren", "Handelsabkommen", "Mieten", "Renten", "Flughäfen", "Radwege", "Prüfungen",
            "Gemeinden", "Wohnungen",
        ],
        places=[
            "Leipzig", "Freiburg", "Kassel", "Rostock", "Augsburg", "Bremen", "Münster", "Erfurt", "Potsdam",
            "Regensburg",
        ],
        subjects=[
            "der Bürgermeister", "die Ministerin", "die Gewerkschaft", "die Opposition", "ein Sprecher",
            "das Finanzamt", "die Polizei", "das Gericht",
        ],
    ),
    "de_forum": Topic(
        "de",
        nouns=[
            "Wanderwege", "Hütten", "Gipfel", "Rucksäcke", "Karten", "Schuhe", "Seen", "Pässe", "Gletscher",
            "Zelte", "Bergbahnen", "Unterkünfte", "Touren", "Wetterberichte", "Jacken", "Brücken",
        ],
        places=[
            "Oberstdorf", "Garmisch", "Berchtesgaden", "Tirol", "Mittenwald", "Südtirol", "Lofer", "Ramsau",
        ],
        subjects=["mein Freund", "unsere Wandergruppe", "der Hüttenwirt", "meine Frau", "ein Bergführer"],
    ),
    "fr_blog": Topic(
        "fr",
        nouns=[
            "villages", "marchés", "plages", "musées", "sentiers", "églises", "ports", "châteaux",
            "vignobles", "restaurants", "auberges", "jardins", "fromages", "gares", "ponts", "îles", "forêts",
            "falaises", "cathédrales", "spécialités",
        ],
        places=[
            "Lyon", "Nantes", "Rennes", "Grenoble", "Dijon", "Bordeaux", "Annecy", "Colmar", "Avignon",
            "Biarritz",
        ],
        subjects=["mon mari", "notre guide", "une amie d'enfance", "le propriétaire", "notre petite famille"],
    ),
    "fr_news": Topic(
        "fr",
        nouns=[
            "élections", "budgets", "hôpitaux", "écoles", "lignes de bus", "logements", "impôts", "salaires",
            "prix de l'énergie", "trains", "parcs", "tribunaux", "loyers", "retraites", "aéroports",
            "pistes cyclables", "examens", "communes",
        ],
        places=["Lille", "Toulouse", "Strasbourg", "Montpellier", "Nancy", "Rouen", "Tours", "Brest"],
        subjects=[
            "le maire", "la ministre", "le syndicat", "l'opposition", "un porte-parole", "la préfecture",
        ],
    ),
    "es_wiki": Topic(
        "es",
        nouns=[
            "los ríos", "los castillos", "los ferrocarriles", "los puentes", "las montañas", "las islas",
            "los puertos", "las iglesias", "los museos", "los bosques", "los pueblos", "los canales",
            "las minas", "los faros", "las universidades", "los periódicos", "los monasterios", "las fiestas",
            "las batallas", "los tratados", "las monedas", "los manuscritos", "los lagos",
        ],
        places=[
            "Sevilla", "Valencia", "Zaragoza", "Málaga", "Bilbao", "Salamanca", "Toledo", "Granada", "Cádiz",
            "Oviedo",
        ],
        subjects=[
            "el historiador", "los primeros pobladores", "un estudio posterior", "el duque", "la parroquia",
            "un arqueólogo local", "la primera edición",
        ],
    ),
    "es_news": Topic(
        "es",
        nouns=[
            "las elecciones", "los presupuestos", "los hospitales", "las escuelas", "las líneas de autobús",
            "las viviendas", "los impuestos", "los salarios", "los precios de la luz", "los trenes",
            "los parques", "los tribunales", "los alquileres", "las pensiones", "los aeropuertos",
            "los carriles bici", "los exámenes", "los municipios",
        ],
        places=["Murcia", "Córdoba", "Alicante", "Vigo", "Santander", "Pamplona", "Burgos", "Almería"],
        subjects=[
            "el alcalde", "la ministra", "el sindicato", "la oposición", "un portavoz", "la consejería",
        ],
    ),
}
# fmt: on


# Page furniture per language: navigation, cookie banners, footers, bylines, section headings.
# fmt: off
BOILER: dict[str, dict] = {
    "en": {
        "nav": ["Home", "News", "Topics", "Archive", "About us", "Contact", "Subscribe", "Search"],
        "cookie": "We use cookies to improve your experience on our website. By continuing to browse, "
        "you agree to our use of cookies.",
        "accept": "Accept all",
        "related": "Related articles",
        "footer": ["Privacy policy", "Terms of use", "Cookie settings", "Careers", "Advertise", "Contact"],
        "rights": "All rights reserved.",
        "byline": "Published on {day} {month} 2023 by {author}.",
        "sections": ["Background", "History", "Details", "Reception", "Current situation", "Outlook"],
        "reply": ["Reply", "Quote", "Report"],
        "missing": "Page not found",
        "missing_text": "Sorry, the page you are looking for does not exist or has been moved.",
        "moved": "Moved Permanently",
        "categories": "All categories",
        "login": "Please sign in to continue.",
    },
    "de": {
        "nav": ["Startseite", "Nachrichten", "Themen", "Archiv", "Über uns", "Kontakt", "Abo", "Suche"],
        "cookie": "Wir verwenden Cookies, um Ihnen das beste Erlebnis auf unserer Website zu bieten. "
        "Wenn Sie weiter surfen, stimmen Sie der Verwendung von Cookies zu.",
        "accept": "Alle akzeptieren",
        "related": "Das könnte Sie auch interessieren",
        "footer": ["Datenschutz", "Impressum", "Cookie-Einstellungen", "Karriere", "Werbung", "Kontakt"],
        "rights": "Alle Rechte vorbehalten.",
        "byline": "Veröffentlicht am {day}. {month} 2023 von {author}.",
        "sections": ["Hintergrund", "Geschichte", "Einzelheiten", "Reaktionen", "Aktuelle Lage", "Ausblick"],
        "reply": ["Antworten", "Zitieren", "Melden"],
        "missing": "Seite nicht gefunden",
        "missing_text": "Die gesuchte Seite existiert leider nicht oder wurde verschoben.",
        "moved": "Dauerhaft verschoben",
        "categories": "Alle Kategorien",
        "login": "Bitte melden Sie sich an, um fortzufahren.",
    },
    "fr": {
        "nav": [
            "Accueil", "Actualités", "Thèmes", "Archives", "À propos", "Contact", "S'abonner", "Recherche",
        ],
        "cookie": "Nous utilisons des cookies pour améliorer votre expérience sur notre site. En poursuivant "
        "votre navigation, vous acceptez l'utilisation des cookies.",
        "accept": "Tout accepter",
        "related": "À lire aussi",
        "footer": [
            "Confidentialité", "Mentions légales", "Gestion des cookies", "Recrutement", "Publicité",
            "Contact",
        ],
        "rights": "Tous droits réservés.",
        "byline": "Publié le {day} {month} 2023 par {author}.",
        "sections": ["Contexte", "Histoire", "Détails", "Réactions", "Situation actuelle", "Perspectives"],
        "reply": ["Répondre", "Citer", "Signaler"],
        "missing": "Page introuvable",
        "missing_text": "Désolé, la page que vous cherchez n'existe pas ou a été déplacée.",
        "moved": "Déplacé définitivement",
        "categories": "Toutes les catégories",
        "login": "Veuillez vous connecter pour continuer.",
    },
    "es": {
        "nav": [
            "Inicio", "Noticias", "Temas", "Archivo", "Quiénes somos", "Contacto", "Suscríbete", "Buscar",
        ],
        "cookie": "Utilizamos cookies para mejorar su experiencia en nuestro sitio web. Si continúa navegando, "
        "acepta el uso de cookies.",
        "accept": "Aceptar todo",
        "related": "Artículos relacionados",
        "footer": [
            "Privacidad", "Aviso legal", "Configuración de cookies", "Empleo", "Publicidad", "Contacto",
        ],
        "rights": "Todos los derechos reservados.",
        "byline": "Publicado el {day} de {month} de 2023 por {author}.",
        "sections": ["Contexto", "Historia", "Detalles", "Reacciones", "Situación actual", "Perspectivas"],
        "reply": ["Responder", "Citar", "Denunciar"],
        "missing": "Página no encontrada",
        "missing_text": "Lo sentimos, la página que busca no existe o ha sido trasladada.",
        "moved": "Movido permanentemente",
        "categories": "Todas las categorías",
        "login": "Inicie sesión para continuar.",
    },
}
# fmt: on
