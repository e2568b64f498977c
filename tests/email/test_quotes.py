"""strip_reply: quote headers in many languages and clients, signatures, and what must stay."""

from __future__ import annotations

import pytest

from intake.email.quotes import strip_reply

REPLY = "The radiator in the kitchen is cold again."


@pytest.mark.parametrize(
    "history",
    [
        "On Tue, Nov 24, 2026 at 3:02 PM Housedesk <help@housedesk.example> wrote:\n> Fixed?",
        "On Tue, Nov 24, 2026 at 3:02 PM Housedesk <\nhelp@housedesk.example> wrote:\n\n> Fixed?",
        "On 24 Nov 2026, at 15:02, Housedesk <help@housedesk.example> wrote:\n\n> Fixed?",
        "-----Original Message-----\nFrom: Housedesk\nSent: Tuesday\n\nFixed?",
        "________________________________\nFrom: Housedesk <help@housedesk.example>\n"
        "Sent: Tuesday, November 24, 2026 3:02 PM\nTo: me\nSubject: Re: [#42]\n\nFixed?",
        "*From:* Housedesk [mailto:help@housedesk.example]\n*Sent:* Tuesday, 24 November\n\nFixed?",
        "----- Original Message -----\nFrom: help@housedesk.example\nTo: me\nSent: Tue\n\nFixed?",
        # Russian: Gmail, Yandex, mail.ru, Outlook, Android
        "вт, 24 нояб. 2026 г. в 15:02, Housedesk <help@housedesk.example>:\n\n> Fixed?",
        '24.11.2026, 15:02, "Housedesk" <help@housedesk.example>:\n> Fixed?',
        "Вторник, 24 ноября 2026, 15:02 +03:00 от Housedesk <help@housedesk.example>:\n> Fixed?",
        "-----Исходное сообщение-----\nОт: Housedesk\nОтправлено: 24 ноября 2026 г.\n\nFixed?",
        "От: Housedesk <help@housedesk.example>\nДата: 24 ноября 2026\nТема: Re: [#42]\n\nFixed?",
        '24.11.2026 15:02 пользователь "help@housedesk.example" <\nhelp@housedesk.example> '
        "написал:\n\n> Fixed?",
        "24 ноября 2026 г., в 15:02, Housedesk пишет:\n> Fixed?",
        # German
        "Am 24.11.2026 um 15:02 schrieb Housedesk <help@housedesk.example>:\n> Fixed?",
        "-----Ursprüngliche Nachricht-----\nVon: Housedesk\nGesendet: Dienstag\n\nFixed?",
        "Von: Housedesk <help@housedesk.example>\nGesendet: Dienstag, 24. November 2026 15:02\n"
        "An: ich\nBetreff: AW: [#42]\n\nFixed?",
        # French
        "Le mar. 24 nov. 2026 à 15:02, Housedesk <help@housedesk.example> a écrit :\n> Fixed?",
        "-----Message d'origine-----\nDe : Housedesk\nEnvoyé : mardi 24 novembre\n\nFixed?",
        "De : Housedesk <help@housedesk.example>\nEnvoyé : mardi 24 novembre 2026 15:02\n\nFixed?",
        # Polish
        "W dniu 24.11.2026 o 15:02, Housedesk <help@housedesk.example> pisze:\n> Fixed?",
        "W dniu 2026-11-24 15:02:00 użytkownik Housedesk <help@housedesk.example> napisał:"
        "\n\nFixed?",
        "Dnia 24 listopada 2026 15:02 Housedesk <help@housedesk.example> napisał(a):\n\nFixed?",
        "-----Oryginalna wiadomość-----\nOd: Housedesk\nWysłano: wtorek\n\nFixed?",
        # Norwegian
        "tir. 24. nov. 2026 kl. 15:02 skrev Housedesk <help@housedesk.example>:\n> Fixed?",
        "Den 24. nov. 2026 kl. 15:02 skrev Housedesk <help@housedesk.example>:\n\nFixed?",
        "-----Opprinnelig melding-----\nFra: Housedesk\nSendt: tirsdag\n\nFixed?",
        "Fra: Housedesk <help@housedesk.example>\nSendt: tirsdag 24. november 2026 15:02\n\nFixed?",
        # English without a date (Mutt-style short attribution, quoted lines follow)
        "On Thu, help wrote:\n> Fixed?",
        # Gmail wraps a long attribution inside the address
        "On Mon, Aug 26, 2019 at 4:37 PM The Hiring Engine <\n"
        "a-really-long-automated-email+1234556@humanresources.example> wrote:\n\n> Fixed?",
        # spaces after the colon, a wrapped attribution ending in an address
        "On Mon, 23 Nov 2026 at 15:02 Housedesk wrote: \t\n> Fixed?",
        "On Mon, 23 Nov 2026 at 15:02 Housedesk\n<help@housedesk.example>:\u3000\n> Fixed?",
        # Danish, Swedish
        "-------- Oprindelig besked --------\nFra: Housedesk <help@housedesk.example>\n"
        "Dato: 24.11.2026 15:02\nTil: mig\nEmne: Re: [#42]\n\nFixed?",
        "-----Oprindelig meddelelse-----\nFra: Housedesk\nSendt: 24. november 2026\n\nFixed?",
        "Fra: Housedesk <help@housedesk.example>\nDato: 24. november 2026 kl. 15.02\n\nFixed?",
        "Den tis 24 nov. 2026 kl 15:02 skrev Housedesk <help@housedesk.example>:\n> Fixed?",
        "Från: Housedesk <help@housedesk.example>\nSkickat: den 24 november 2026 15:02\n\nFixed?",
        # Polish Outlook separator
        "-----Wiadomość oryginalna-----\nOd: Housedesk\nWysłano: wtorek\n\nFixed?",
        # Chinese: Gmail/Foxmail attribution, QQ Mail header block (full-width colons too)
        "在 2026年11月24日 15:02，Housedesk <help@housedesk.example> 写道：\n> Fixed?",
        "Housedesk <help@housedesk.example> 于2026年11月24日周二 15:02写道：\n\nFixed?",
        "------------------ 原始邮件 ------------------\n"
        '发件人: "Housedesk"<help@housedesk.example>;\n'
        '发送时间: 2026年11月24日(星期二) 下午3:02\n收件人: "me";\n主题: Re: [#42]\n\nFixed?',
        "发件人：Housedesk\n发送时间：2026年11月24日 15:02\n\nFixed?",
        # Japanese: Gmail, iPhone, Outlook
        "2026年11月24日(火) 15:02 Housedesk <help@housedesk.example>:\n\n> Fixed?",
        "2026/11/24 15:02、Housedesk <help@housedesk.example>のメール:\n> Fixed?",
        "差出人: Housedesk <help@housedesk.example>\n送信日時: 2026年11月24日 15:02\n\nFixed?",
    ],
)
def test_history_below_the_reply_is_removed(history: str) -> None:
    assert strip_reply(f"{REPLY}\n\n{history}\n") == REPLY


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nAnna Berg\nFlat 12",
        "--\nAnna",
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Sent from Outlook for Android<https://aka.ms/AAb9ysg>",
        "Get Outlook for iOS",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Отправлено с iPhone",
        "Отправлено из мобильной Почты Mail.ru",
        "Wysłane z mojego smartfona Galaxy",
        "Sendt fra min iPhone",
    ],
)
def test_signatures_are_removed(signature: str) -> None:
    assert strip_reply(f"{REPLY}\n\n{signature}\n") == REPLY


def test_bottom_posted_reply_keeps_the_text_below_the_quote() -> None:
    text = "On 24/11/2026 15:02, Housedesk wrote:\n> Fixed?\n> Regards\n\nNo, still cold.\n"

    assert strip_reply(text) == "No, still cold."


def test_inline_answers_between_quotes_are_kept() -> None:
    text = "> Which flat?\nFlat 12.\n> Since when?\nSince Monday.\n"

    assert strip_reply(text) == "Flat 12.\nSince Monday."


@pytest.mark.parametrize(
    "marker", ["---------- Forwarded message ---------", "Begin forwarded message:"]
)
def test_a_forwarded_message_is_content_not_history(marker: str) -> None:
    text = (
        f"Please look at the notice below.\n\n{marker}\n"
        "From: Water Utility <notice@utility.example>\nDate: Tue, 24 Nov 2026 at 09:00\n"
        "Subject: Water off on Friday\n\nWater will be off on Friday 8-12.\n"
    )

    assert strip_reply(text) == text.strip()


def test_a_line_with_numbers_before_the_attribution_is_kept() -> None:
    attribution = "On Tue, 24 Nov 2026 at 15:02, Desk <help@x.example> wrote:"
    text = f"{REPLY}\nCall me on 555 1234\n{attribution}\n> x"

    assert strip_reply(text) == f"{REPLY}\nCall me on 555 1234"


@pytest.mark.parametrize(
    "text",
    [
        "Sent from my desk, is much easier then my mobile phone.",
        "From: the second floor, the noise is terrible.",
        "I wrote: please send someone.",
        "Use the stairs -- the lift is broken.",
    ],
)
def test_ordinary_sentences_are_not_mistaken_for_quotes(text: str) -> None:
    assert strip_reply(f"{REPLY}\n{text}") == f"{REPLY}\n{text}"
