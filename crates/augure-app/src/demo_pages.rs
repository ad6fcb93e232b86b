//! The demo's public pages: a plausible legal notice, terms, privacy policy and contact
//! page for each storefront, in French, and in Italian for Switzerland (whose demo clients
//! and experts include Italian speakers). Operators replace them from the admin pages.

use augure_domain::Site;
use augure_domain::legal::PageKind;

use crate::legal::{Legal, LegalError};

/// Writes every demo page of `site`.
pub async fn seed(legal: &Legal, site: &Site) -> Result<(), LegalError> {
    let mut texts = vec![("fr", FR)];
    if site.code.as_str() == "CH" {
        texts.push(("it", IT));
    }
    for (locale, pages) in texts {
        for (kind, title, body) in pages {
            let body = body.replace("{site}", &site.name).replace("{host}", &host(site));
            legal.save(site.id, *kind, locale, title, &body).await?;
        }
    }
    Ok(())
}

/// The demo storefront's address, e.g. `fr.augure.localhost`.
fn host(site: &Site) -> String {
    format!("{}.augure.localhost", site.code.as_str().to_ascii_lowercase())
}

type Pages = &'static [(PageKind, &'static str, &'static str)];

const FR: Pages = &[
    (
        PageKind::Legal,
        "Mentions légales",
        "Le site {host} ({site}) est édité par augure SAS, société par actions simplifiée au capital de 10 000 €, \
immatriculée au RCS de Paris sous le numéro 000 000 000 (données de démonstration).

## Éditeur
augure SAS
12 rue des Étoiles, 75002 Paris, France
Directrice de la publication : Camille Martin

## Hébergement
Le site est hébergé par l'opérateur de la plateforme sur ses propres serveurs, situés dans l'Union européenne.

## Propriété intellectuelle
Les textes, photos et enregistrements publiés par les experts restent leur propriété. Toute reproduction sans \
autorisation est interdite.

## Nature des consultations
Les consultations proposées sur {site} relèvent du divertissement et du développement personnel. Elles ne \
remplacent en aucun cas l'avis d'un médecin, d'un avocat ou d'un conseiller financier.",
    ),
    (
        PageKind::Terms,
        "Conditions générales d'utilisation",
        "Les présentes conditions régissent l'utilisation de {site} par les clients et par les experts. En créant un \
compte, vous les acceptez dans leur version en vigueur.

## Article 1 — Comptes
L'inscription est réservée aux personnes majeures. Chacun est responsable de la confidentialité de son mot de passe.

## Article 2 — Crédit et tarifs
Les consultations se règlent à partir d'un crédit prépayé, à la minute ou au forfait, au prix affiché sur le profil \
de l'expert avant la consultation. Le client voit à tout moment le crédit qui lui reste ; une minute avant la fin \
de son crédit, il est prévenu.

## Article 3 — Consultations par email
L'expert répond dans le délai annoncé. Passé ce délai, le client est remboursé automatiquement.

## Article 4 — Annulation des rendez-vous
Un rendez-vous peut être annulé sans frais jusqu'à 48 heures avant son début. Au-delà, il reste dû.

## Article 5 — Charte de déontologie des experts
Les experts s'engagent à :
- consulter avec bienveillance, honnêteté et discrétion ;
- ne jamais prétendre guérir ni se substituer à un professionnel de santé ;
- ne pas solliciter leurs clients en dehors de la plateforme ;
- respecter les horaires annoncés dans leur planning.

## Article 6 — Modification des conditions
Lorsque ces conditions changent, chaque expert est invité à accepter la nouvelle version depuis son espace.",
    ),
    (
        PageKind::Privacy,
        "Politique de confidentialité",
        "{site} ne garde que ce dont il a besoin pour fournir le service et le facturer.

## Données conservées
- votre adresse email, votre nom affiché et votre mot de passe (chiffré) ;
- vos achats de crédit et vos consultations, pour la facturation et la comptabilité ;
- pour les experts, les coordonnées bancaires nécessaires à leur paiement.

## Durée de conservation
Les pièces comptables sont conservées dix ans, comme la loi l'exige. Les messages techniques sont effacés au bout \
de quelques mois.

## Vos droits
Vous pouvez demander l'accès à vos données, leur rectification ou leur effacement en écrivant à \
dpo@augure.localhost. Vous pouvez aussi saisir la CNIL.

## Cookies
Le site n'utilise qu'un cookie de session et un cookie de langue, indispensables à son fonctionnement. Aucun \
cookie publicitaire.",
    ),
    (
        PageKind::Contact,
        "Nous contacter",
        "Notre service clients vous répond du lundi au samedi, de 9 h à 20 h.

## Par email
support@augure.localhost

## Par courrier
augure SAS — Service clients
12 rue des Étoiles, 75002 Paris, France

Pour une réclamation sur une consultation, indiquez la date et le nom de l'expert : nous vous répondons sous 48 heures.",
    ),
];

const IT: Pages = &[
    (
        PageKind::Legal,
        "Note legali",
        "Il sito {host} ({site}) è pubblicato da augure SAS, società per azioni semplificata con capitale di 10 000 €, \
iscritta al registro delle imprese di Parigi con il numero 000 000 000 (dati di dimostrazione).

## Editore
augure SAS
12 rue des Étoiles, 75002 Parigi, Francia

## Natura dei consulti
I consulti offerti su {site} rientrano nell'intrattenimento e nella crescita personale. Non sostituiscono in alcun \
caso il parere di un medico, di un avvocato o di un consulente finanziario.",
    ),
    (
        PageKind::Terms,
        "Condizioni generali d'uso",
        "Queste condizioni regolano l'uso di {site} da parte dei clienti e degli esperti. Creando un account, le \
accetti nella versione in vigore.

## Articolo 1 — Account
L'iscrizione è riservata ai maggiorenni. Ognuno è responsabile della riservatezza della propria password.

## Articolo 2 — Credito e tariffe
I consulti si pagano con un credito prepagato, al minuto o a pacchetto, al prezzo indicato sul profilo \
dell'esperto prima del consulto.

## Articolo 3 — Codice deontologico degli esperti
Gli esperti si impegnano a:
- consultare con gentilezza, onestà e discrezione;
- non pretendere mai di guarire né sostituirsi a un professionista della salute;
- non contattare i clienti al di fuori della piattaforma.",
    ),
    (
        PageKind::Privacy,
        "Informativa sulla privacy",
        "{site} conserva solo ciò che serve a fornire il servizio e a fatturarlo.

## Dati conservati
- il tuo indirizzo email, il nome visualizzato e la password (cifrata);
- i tuoi acquisti di credito e i tuoi consulti, per la fatturazione.

## I tuoi diritti
Puoi chiedere l'accesso, la rettifica o la cancellazione dei tuoi dati scrivendo a dpo@augure.localhost.",
    ),
    (
        PageKind::Contact,
        "Contattaci",
        "Il nostro servizio clienti ti risponde dal lunedì al sabato, dalle 9 alle 20.

## Per email
supporto@augure.localhost",
    ),
];
