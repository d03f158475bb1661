package console

import "strings"

// texts are the console's words, Danish first (the seeds' own words for
// tabs and fields), then English.
var texts = map[string][2]string{
	"skip": {"Gå til indhold", "Skip to content"}, "footer": {"brugeradministration", "user administration"},
	"lang.other": {"English", "Dansk"}, "nav.account": {"Konto", "Account"}, "nav.org": {"Organisation", "Organisation"},
	"nav.orgs": {"Organisationer", "Organisations"}, "logout": {"Log ud", "Sign out"},
	"csrf":     {"Formularen er udløbet eller kom ikke fra denne side. Prøv igen.", "The form expired or did not come from this page. Please try again."},
	"notfound": {"Siden findes ikke.", "There is no such page."},

	"title.login": {"Log ind", "Sign in"}, "title.message": {"Adgang", "Adgang"}, "title.orgs": {"Organisationer", "Organisations"},
	"title.users": {"Søg brugere", "Search users"}, "title.newuser": {"Opret bruger", "Create user"},
	"title.groups": {"Brugergrupper", "User groups"}, "title.knocks": {"Banke på", "Knocks"},
	"title.activity": {"Loginaktivitet", "Login activity"}, "title.import": {"Importér brugere", "Import users"},
	"title.certificates": {"Certifikater", "Certificates"}, "title.settings": {"Organisationens indstillinger", "Organisation settings"},
	"tab.users": {"Søg brugere", "Search users"}, "tab.new": {"Opret bruger", "Create user"}, "tab.import": {"Importér brugere", "Import users"},
	"tab.groups": {"Brugergrupper", "User groups"}, "tab.knocks": {"Banke på", "Knocks"}, "tab.activity": {"Loginaktivitet", "Login activity"},
	"tab.certificates": {"Certifikater", "Certificates"}, "tab.settings": {"Organisation", "Organisation"},

	"login.token": {"API-nøgle eller JWT", "API token or JWT"}, "login.submit": {"Log ind", "Sign in"},
	"login.help":  {"Din administrator-nøgle. Med make run DEMO=1 ligger den i DATA/demo-admin-token.", "Your administrator token. With make run DEMO=1 it is in DATA/demo-admin-token."},
	"login.empty": {"Angiv en nøgle.", "Enter a token."},

	"orgs.caption": {"Organisationer du kan se", "Organisations you may see"}, "org.name": {"Navn", "Name"}, "org.type": {"Type", "Type"},
	"org.units": {"Produktionsenheder (P-numre)", "Production units (P-numbers)"},
	"none":      {"Ingen", "None"}, "any": {"Alle", "Any"}, "yes": {"Ja", "Yes"}, "no": {"Nej", "No"}, "never": {"Aldrig", "Never"},
	"select": {"Vælg", "Select"}, "actions": {"Handlinger", "Actions"}, "delete": {"Slet", "Delete"}, "save": {"Gem", "Save"},
	"cancel": {"Annullér", "Cancel"}, "until": {"til", "until"}, "from": {"Fra", "From"}, "to": {"Til", "To"},
	"expired": {"udløbet", "expired"}, "justification": {"Begrundelse", "Justification"},
	"page.next": {"Næste side", "Next page"}, "page.first": {"Første side", "First page"},

	"search.q": {"Navn (del af)", "Name (part)"}, "search.rid": {"RID eller UUID", "RID or UUID"}, "search.role": {"Rolle", "Role"},
	"search.sort": {"Sortér siden efter", "Sort the page by"}, "search.submit": {"Søg", "Search"},
	"sort.name": {"Navn", "Name"}, "sort.email": {"E-mail", "E-mail"}, "sort.status": {"Status", "Status"},
	"sort.p": {"P-nummer", "P-number"}, "sort.type": {"Brugertype", "User type"},
	"users.caption": {"Brugere", "Users"},

	"user.name": {"Navn", "Name"}, "user.email": {"E-mail", "E-mail"}, "user.username": {"Brugernavn", "Username"},
	"user.cpr": {"CPR-nummer", "CPR number"}, "user.birth_date": {"Fødselsdato", "Date of birth"}, "user.kind": {"Brugerart", "Kind"},
	"user.phone": {"Telefon", "Phone"}, "user.language": {"Sprog", "Language"}, "user.p_number": {"P-nummer", "P-number"},
	"user.se_number": {"SE-nummer", "SE number"}, "user.identification_means": {"Identifikationsmidler", "Identification means"},
	"user.anonymous": {"Anonym bruger", "Anonymous user"}, "user.status": {"Status", "Status"}, "user.user_type": {"Brugertype", "User type"},
	"user.class": {"Klasse", "Class"}, "user.last_login": {"Seneste login", "Last login"}, "user.password": {"Adgangskode", "Password"},
	"user.source": {"Oprettet via", "Created by"}, "user.status.change": {"Skift status", "Change status"},
	"status.new": {"Ny", "New"}, "status.active": {"Aktiv", "Active"}, "status.inactive": {"Inaktiv", "Inactive"},
	"status.deactivated": {"Deaktiveret", "Deactivated"}, "status.deleted": {"Slettet", "Deleted"},
	"kind.employee": {"Medarbejder", "Employee"}, "kind.private": {"Privatperson", "Private person"}, "kind.function": {"Funktionscertifikat", "Function certificate"},
	"action.deactivate": {"Deaktivér", "Deactivate"}, "action.inactivate": {"Inaktivér", "Inactivate"}, "action.activate": {"Aktivér", "Activate"},
	"deactivate.until":       {"Deaktivér til og med (valgfri)", "Deactivate until (optional)"},
	"deactivate.help":        {"Uden dato er deaktiveringen uden slutdato.", "Without a date the deactivation has no end."},
	"status.deactivate.done": {"Brugeren er deaktiveret.", "The user is deactivated."},
	"status.inactivate.done": {"Brugeren er inaktiveret.", "The user is inactivated."},
	"status.activate.done":   {"Brugeren er aktiveret.", "The user is activated."},
	"user.created":           {"Brugeren er oprettet.", "The user is created."},

	"newuser.person": {"Person", "Person"}, "newuser.placement": {"Placering og rettigheder", "Placement and rights"},
	"newuser.cprhelp":   {"Vises aldrig igen; gemmes kun som nøglet hash.", "Never shown again; stored only as a keyed hash."},
	"newuser.meanshelp": {"Kommasepareret. Organisationen tillader:", "Comma-separated. The organisation allows:"},
	"newuser.anonhelp":  {"Anonymitet kan kun vælges ved oprettelse.", "Anonymity can only be chosen at creation."},
	"newuser.submit":    {"Opret bruger", "Create user"},

	"grants": {"Rettigheder", "Rights"}, "grants.caption": {"Brugerens rettigheder, direkte og via grupper", "The user's rights, direct and through groups"},
	"grant.right": {"Rettighed", "Right"}, "grant.scope": {"Omfang", "Scope"}, "grant.source": {"Kilde", "Source"},
	"grant.expires": {"Udløber", "Expires"}, "grant.viagroup": {"via gruppe", "through a group"}, "grant.delete": {"Slet rettighed", "Delete right"},
	"grant.new": {"Tildel rettighed", "Grant a right"}, "grant.punits": {"Vælg en eller flere P-enheder", "Choose one or more P-units"},
	"grant.submit": {"Tildel", "Grant"}, "grant.created": {"Rettigheden er tildelt.", "The right is granted."},
	"grant.deleted": {"Rettigheden er slettet.", "The right is deleted."}, "grant.noscope": {"Vælg omfang (CVR, P-enhed eller SE-nummer).", "Choose a scope (CVR, P-unit or SE number)."},
	"scope.cvr": {"Hele organisationen (CVR)", "The whole organisation (CVR)"}, "scope.p": {"P-enhed", "P-unit"}, "scope.se": {"SE-nummer", "SE number"},

	"password.reset.button": {"Nulstil adgangskode", "Reset password"}, "password.unblock.button": {"Ophæv spærring", "Lift block"},
	"password.reset":     {"Midlertidig adgangskode (vises kun nu):", "Temporary password (shown only now):"},
	"password.unblocked": {"Spærringen er ophævet.", "The block is lifted."},
	"activation.button":  {"Send aktivering", "Send activation"}, "activation.sent": {"Aktiveringen er sendt.", "The activation is sent."},
	"activation.code": {"Aktiveringskode (vises kun nu):", "Activation code (shown only now):"},

	"history": {"Historik", "History"}, "history.caption": {"Seneste hændelser (højst 200 pr. side)", "Latest events (at most 200 a page)"},
	"history.time": {"Tidspunkt", "Time"}, "history.type": {"Hændelse", "Event"}, "history.actor": {"Udført af", "By"},
	"history.object": {"Objekt", "Object"}, "history.submit": {"Filtrér", "Filter"},

	"groups.caption": {"Organisationens grupper", "The organisation's groups"}, "group.name": {"Navn", "Name"}, "group.kind": {"Art", "Kind"},
	"group.custom": {"Brugerdefineret", "Custom"}, "group.system": {"Systemgruppe (P-enhed)", "System group (P-unit)"},
	"group.new": {"Opret brugergruppe", "Create a user group"}, "group.create": {"Opret", "Create"}, "group.delete": {"Slet gruppen", "Delete the group"},
	"group.created": {"Gruppen er oprettet.", "The group is created."}, "group.deleted": {"Gruppen er slettet.", "The group is deleted."},
	"group.grants.caption": {"Gruppens rettigheder", "The group's rights"},
	"members":              {"Medlemmer", "Members"}, "members.caption": {"Gruppens medlemmer", "The group's members"},
	"members.more": {"Gruppen har flere medlemmer end vist.", "The group has more members than shown."},
	"member.org":   {"Organisation", "Organisation"}, "member.external": {"ekstern", "external"}, "member.remove": {"Fjern", "Remove"},
	"member.add": {"Tilføj medlem", "Add member"}, "member.add.id": {"Brugerens UUID", "The user's UUID"},
	"member.add.help": {"Også brugere fra en anden organisation, hvor det er tilladt.", "Also users of another organisation, where allowed."},
	"member.added":    {"Medlemmet er tilføjet.", "The member is added."}, "member.removed": {"Medlemmet er fjernet.", "The member is removed."},

	"knocks.caption": {"Brugere der har banket på", "Users who knocked"}, "knock.subject": {"UUID / RID", "UUID / RID"},
	"knock.last": {"Seneste forsøg", "Last attempt"}, "knock.count": {"Antal", "Count"}, "knock.accept": {"Opret bruger", "Create user"},
	"knock.delete": {"Slet valgte", "Delete selected"}, "knock.accepted": {"Brugeren er oprettet:", "The user is created:"},
	"knock.deleted": {"%d slettet.", "%d deleted."}, "knock.none": {"Vælg mindst én.", "Select at least one."},

	"activity.not_since": {"Ikke logget ind siden", "No login since"}, "activity.caption": {"Brugere uden login siden", "Users without a login since"},
	"bulk.none": {"Vælg mindst én bruger.", "Select at least one user."}, "bulk.done": {"%d brugere ændret.", "%d users changed."},
	"bulk.partial": {"%d ændret; afvist: %s", "%d changed; refused: %s"},

	"import.file": {"CSV-fil", "CSV file"}, "import.help": {"Semikolonsepareret, UTF-8 eller Windows-1252.", "Semicolon-separated, UTF-8 or Windows-1252."},
	"import.template": {"Hent skabelonen", "Download the template"}, "import.mode": {"Handling", "Action"},
	"import.mode.create": {"Opret", "Create"}, "import.mode.update": {"Opdatér", "Update"}, "import.mode.delete": {"Slet", "Delete"},
	"import.dryrun": {"Vis prøvekørsel", "Show a dry run"}, "import.preview": {"Prøvekørsel – intet er ændret endnu", "Dry run – nothing has changed yet"},
	"import.result": {"Resultat", "Result"}, "import.rows": {"Rækker", "Rows"}, "import.row": {"Række", "Row"}, "import.status": {"Status", "Status"},
	"import.detail": {"Detaljer", "Detail"}, "import.error": {"Fejl", "Error"},
	"import.errors.skip": {"Rækker med fejl springes over; de andre gennemføres.", "Rows with errors are skipped; the others are applied."},
	"import.commit":      {"Gennemfør importen", "Commit the import"}, "import.committed": {"Importen er gennemført.", "The import is committed."},
	"import.gone":         {"Prøvekørslen er udløbet; upload filen igen.", "The dry run has expired; upload the file again."},
	"import.would_create": {"Oprettes", "Would create"}, "import.would_update": {"Opdateres", "Would update"}, "import.would_delete": {"Slettes", "Would delete"},
	"import.created": {"Oprettet", "Created"}, "import.updated": {"Opdateret", "Updated"}, "import.deleted": {"Slettet", "Deleted"},
	"import.unchanged": {"Uændret", "Unchanged"}, "import.skipped": {"Sprunget over", "Skipped"},

	"certs.caption": {"Organisationens certifikater", "The organisation's certificates"}, "cert.serial": {"Serienummer", "Serial"},
	"cert.type": {"Type", "Type"}, "cert.holder": {"Bruger", "User"}, "cert.status": {"Status", "Status"}, "cert.expires": {"Udløber", "Expires"},
	"cert.user": {"Brugerens UUID (personcertifikat)", "The user's UUID (user certificate)"}, "cert.order": {"Bestil certifikat", "Order a certificate"},
	"cert.type.user": {"Medarbejdercertifikat", "User certificate"}, "cert.type.org": {"Virksomhedscertifikat", "Organisation certificate"},
	"cert.type.function": {"Funktionscertifikat", "Function certificate"},
	"cert.ordered":       {"Bestilt", "Ordered"}, "cert.issued": {"Udstedt", "Issued"}, "cert.revoked": {"Spærret", "Revoked"}, "cert.expired": {"Udløbet", "Expired"},
	"cert.issue": {"Udsted", "Issue"}, "cert.revoke": {"Spær", "Revoke"}, "cert.renew": {"Forny", "Renew"}, "cert.delete": {"Slet bestilling", "Delete order"},
	"cert.issue.done": {"Certifikatet er udstedt.", "The certificate is issued."}, "cert.revoke.done": {"Certifikatet er spærret.", "The certificate is revoked."},
	"cert.renew.done": {"Certifikatet er fornyet.", "The certificate is renewed."}, "cert.delete.done": {"Bestillingen er slettet.", "The order is deleted."},

	"settings.allow_knock": {"Tillad banke på", "Allow knocks"}, "settings.deletion": {"Sletning", "Deletion"},
	"settings.identification_means": {"Tilladte identifikationsmidler (A16)", "Allowed identification means (A16)"},
	"settings.must_have_roles":      {"Roller der altid skal have en indehaver (A17)", "Roles that must keep a holder (A17)"},
	"settings.certificate_types":    {"Certifikattyper der må bestilles", "Certificate types that may be ordered"},
	"settings.admins_cpr":           {"Administratorer skal være CPR-identificerede (A18)", "Administrators must be CPR-identified (A18)"},
	"settings.readonly":             {"Kun organisationsadministratoren kan ændre indstillingerne; du kan læse dem.", "Only the organisation administrator can change the settings; you can read them."},
	"settings.saved":                {"Indstillingerne er gemt.", "The settings are saved."},
	"deletion.allowed":              {"Tilladt", "Allowed"}, "deletion.inactivate_only": {"Kun inaktivering", "Inactivate only"},
}

// translate returns key's text in lang; an unknown key shows its last
// part, so a new status from the API is still readable.
func translate(lang, key string) string {
	t, ok := texts[key]
	if !ok {
		return key[strings.LastIndex(key, ".")+1:]
	}
	if lang == "en" {
		return t[1]
	}
	return t[0]
}
