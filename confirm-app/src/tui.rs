//! The interactive screen of `wysiwys-confirm listen` (ratatui).
//!
//! `App` is the state machine (tested without a terminal); `draw` renders
//! it. What the person must see before approving: who asks, the title, every
//! summary line (Approve stays off until they scrolled to the end), the
//! verification code in big digits, and the time left.

use crate::channel::{Answer, Event, Push};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use std::collections::VecDeque;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::{AckOutcome, NoticeKind, PairingOutcome};
use wysiwys_proto::challenge::VerifiedChallenge;
use wysiwys_proto::pairing_approval::VerifiedPairingRequest;
use wysiwys_proto::sad::Decision;

pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    Disconnected(String),
    /// The server refused this device; nothing more will come.
    Refused(String),
}

#[derive(Debug)]
pub struct Showing {
    pub request: Box<VerifiedChallenge>,
    pub scroll: usize,
    /// Set by `draw`: how far the summary can scroll at the current size.
    pub max_scroll: usize,
    pub seen_end: bool,
    pub confirming_not_me: bool,
}

#[derive(Debug)]
pub enum Screen {
    Waiting,
    Request(Showing),
    /// A push that failed verification: it can only be dismissed.
    Warning {
        code: ErrorCode,
        reason: String,
    },
    /// A new device asks to join the account.
    Pairing {
        request: Box<VerifiedPairingRequest>,
        confirming_not_me: bool,
    },
    /// A decision is on its way to the server.
    Sending {
        title: String,
        decision: Decision,
    },
}

/// Keys, independent of the terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Esc,
}

#[derive(Debug)]
pub struct App {
    /// "ann at https://sign.example".
    pub who: String,
    pub connection: Connection,
    pub screen: Screen,
    queue: VecDeque<Push>,
    /// The outcome of the last decision, in words.
    pub last_outcome: Option<String>,
    /// What last changed on the account's devices, in words.
    pub last_notice: Option<String>,
    pub now: i64,
    pub quit: bool,
}

impl App {
    pub fn new(who: String, now: i64) -> App {
        App {
            who,
            connection: Connection::Connecting,
            screen: Screen::Waiting,
            queue: VecDeque::new(),
            last_outcome: None,
            last_notice: None,
            now,
            quit: false,
        }
    }

    fn show_next(&mut self) {
        self.screen = match self.queue.pop_front() {
            None => Screen::Waiting,
            Some(Push::Genuine(request)) => Screen::Request(Showing {
                request,
                scroll: 0,
                max_scroll: 0,
                seen_end: false,
                confirming_not_me: false,
            }),
            Some(Push::Pairing(request)) => Screen::Pairing { request, confirming_not_me: false },
            Some(Push::Forged { code, reason }) => Screen::Warning { code, reason },
        };
    }

    pub fn on_event(&mut self, event: Event) {
        match event {
            Event::Connecting => {
                if !matches!(self.connection, Connection::Disconnected(_)) {
                    self.connection = Connection::Connecting;
                }
            }
            Event::Connected => self.connection = Connection::Connected,
            Event::Disconnected { reason, retry_in } => {
                self.connection =
                    Connection::Disconnected(format!("{reason}; retrying in {} s", retry_in.as_secs().max(1)));
            }
            Event::Refused { code, description } => {
                self.connection = Connection::Refused(format!("{code}: {description}"));
            }
            Event::Failed { reason } => self.connection = Connection::Refused(reason),
            Event::Push(push) => {
                // The same request may be pushed again after a reconnect.
                let id = |p: &Push| match p {
                    Push::Genuine(r) => Some(r.claims.req.clone()),
                    Push::Pairing(r) => Some(r.claims.pairing.clone()),
                    Push::Forged { .. } => None,
                };
                let new_id = id(&push);
                let showing = match &self.screen {
                    Screen::Request(s) => Some(s.request.claims.req.clone()),
                    Screen::Pairing { request, .. } => Some(request.claims.pairing.clone()),
                    _ => None,
                };
                if new_id.is_some() && (new_id == showing || self.queue.iter().any(|q| id(q) == new_id)) {
                    return;
                }
                self.queue.push_back(push);
                if matches!(self.screen, Screen::Waiting) {
                    self.show_next();
                }
            }
            Event::Answered { decision, outcome, receipt_seq, .. } => {
                let words = match outcome {
                    Some(AckOutcome::Accepted { state }) => format!("{decision:?}: accepted, request {state:?}"),
                    Some(AckOutcome::Refused { error, .. }) => format!("{decision:?}: refused by the server ({error})"),
                    None => format!("{decision:?}: no answer from the server"),
                };
                self.last_outcome = Some(format!("{words} — receipt #{receipt_seq}").to_lowercase());
                if matches!(self.screen, Screen::Sending { .. }) {
                    self.show_next();
                }
            }
            Event::PairingAnswered { decision, outcome, .. } => {
                let words = match outcome {
                    Some(PairingOutcome::Approved) => "the new device may now be used".to_owned(),
                    Some(PairingOutcome::Rejected) => "the new device was refused".to_owned(),
                    Some(PairingOutcome::Locked) => "the new device was refused; pairing and signing are locked".into(),
                    Some(PairingOutcome::Refused { error, .. }) => format!("refused by the server ({error})"),
                    None => "no answer from the server".to_owned(),
                };
                self.last_outcome = Some(format!("pairing {decision:?}: {words}").to_lowercase());
                if matches!(self.screen, Screen::Sending { .. }) {
                    self.show_next();
                }
            }
            Event::Notice { kind, device_name, at, .. } => {
                self.last_notice = Some(format!("{} ({})", notice_words(kind, &device_name), format_utc_ms(at)));
            }
        }
    }

    pub fn tick(&mut self, now: i64) {
        self.now = now;
    }

    /// Whether Approve is possible now, and if not, why.
    pub fn approve_blocked(&self) -> Option<&'static str> {
        let Screen::Request(s) = &self.screen else { return Some("nothing to approve") };
        if self.now >= s.request.claims.exp {
            Some("the request has expired")
        } else if !s.seen_end {
            Some("scroll to the end of the summary first")
        } else if self.connection != Connection::Connected {
            Some("not connected")
        } else {
            None
        }
    }

    /// Handles a key; returns a decision to send, if one was made.
    pub fn on_key(&mut self, key: Key) -> Option<Answer> {
        if key == Key::Char('q') {
            self.quit = true;
            return None;
        }
        let blocked = self.approve_blocked();
        let connected = self.connection == Connection::Connected;
        let now = self.now;
        let put_aside = match &mut self.screen {
            Screen::Waiting | Screen::Sending { .. } => false,
            Screen::Warning { .. } => matches!(key, Key::Char('d') | Key::Enter | Key::Esc),
            Screen::Pairing { confirming_not_me, .. } if *confirming_not_me => {
                *confirming_not_me = false;
                return if key == Key::Char('y') && connected { self.decide(Decision::NotMe) } else { None };
            }
            Screen::Pairing { request, confirming_not_me } => {
                let live = now < request.claims.exp;
                match key {
                    Key::Char('a') if connected && live => return self.decide(Decision::Approve),
                    Key::Char('r') if connected && live => return self.decide(Decision::Reject),
                    Key::Char('n') if live => *confirming_not_me = true,
                    _ => {}
                }
                key == Key::Char('d') && !live
            }
            Screen::Request(s) if s.confirming_not_me => {
                s.confirming_not_me = false;
                return if key == Key::Char('y') && connected { self.decide(Decision::NotMe) } else { None };
            }
            Screen::Request(s) => {
                match key {
                    Key::Down | Key::Char('j') => s.scroll = (s.scroll + 1).min(s.max_scroll),
                    Key::Up | Key::Char('k') => s.scroll = s.scroll.saturating_sub(1),
                    Key::PageDown | Key::Char(' ') => s.scroll = (s.scroll + 10).min(s.max_scroll),
                    Key::PageUp => s.scroll = s.scroll.saturating_sub(10),
                    Key::Home => s.scroll = 0,
                    Key::End => s.scroll = s.max_scroll,
                    Key::Char('a') if blocked.is_none() => return self.decide(Decision::Approve),
                    Key::Char('r') if connected => return self.decide(Decision::Reject),
                    Key::Char('n') => s.confirming_not_me = true,
                    _ => {}
                }
                if s.scroll >= s.max_scroll {
                    s.seen_end = true;
                }
                // An expired request can only be put aside.
                key == Key::Char('d') && now >= s.request.claims.exp
            }
        };
        if put_aside {
            self.show_next();
        }
        None
    }

    fn decide(&mut self, decision: Decision) -> Option<Answer> {
        match std::mem::replace(&mut self.screen, Screen::Waiting) {
            Screen::Request(s) => {
                self.screen = Screen::Sending { title: s.request.claims.summary.title.clone(), decision };
                Some(Answer::Sign { shown: s.request, decision })
            }
            Screen::Pairing { request, .. } => {
                self.screen = Screen::Sending { title: format!("new device {}", request.claims.name), decision };
                Some(Answer::Pairing { shown: request, decision })
            }
            other => {
                self.screen = other;
                None
            }
        }
    }
}

fn format_utc_ms(ms: i64) -> String {
    wysiwys_proto::time::format_utc(ms.div_euclid(1000))
}

/// A notice in plain words.
pub fn notice_words(kind: NoticeKind, device_name: &str) -> String {
    match kind {
        NoticeKind::DevicePaired => format!("Device “{device_name}” was paired with your account"),
        NoticeKind::DeviceApproved => format!("Device “{device_name}” joined your account with an approval"),
        NoticeKind::PairingRefused => format!("Device “{device_name}” was refused"),
        NoticeKind::DeviceRevoked => format!("Device “{device_name}” was revoked"),
        _ => format!("Something changed about device “{device_name}”"),
    }
}

/// What the person sees of a pairing request, line by line.
pub fn pairing_lines(request: &VerifiedPairingRequest, now: i64) -> Vec<String> {
    let c = &request.claims;
    vec![
        "A NEW DEVICE WANTS TO JOIN YOUR ACCOUNT".to_owned(),
        String::new(),
        format!("Name:       {}", c.name),
        format!("Key:        {}", c.jkt),
        format!("Asked at:   {}", format_utc_ms(c.iat.saturating_mul(1000))),
        format!("From:       {}", c.addr),
        format!("Server:     {}", c.iss),
        format!("Time left:  {} s", (c.exp - now).max(0)),
        String::new(),
        "Approve only if you are pairing this device yourself, right now.".to_owned(),
        "If you are not, answer \"not me\": someone may have your password.".to_owned(),
    ]
}

/// 3×5 digits for the verification code.
const DIGITS: [[&str; 5]; 10] = [
    ["███", "█ █", "█ █", "█ █", "███"],
    ["  █", "  █", "  █", "  █", "  █"],
    ["███", "  █", "███", "█  ", "███"],
    ["███", "  █", "███", "  █", "███"],
    ["█ █", "█ █", "███", "  █", "  █"],
    ["███", "█  ", "███", "  █", "███"],
    ["███", "█  ", "███", "█ █", "███"],
    ["███", "  █", "  █", "  █", "  █"],
    ["███", "█ █", "███", "█ █", "███"],
    ["███", "█ █", "███", "  █", "███"],
];

pub fn big_digits(code: &str) -> Vec<String> {
    (0..5)
        .map(|row| {
            code.chars().filter_map(|c| c.to_digit(10)).map(|d| DIGITS[d as usize][row]).collect::<Vec<_>>().join("  ")
        })
        .collect()
}

/// Summary lines wrapped to `width` characters (labels first).
pub fn summary_rows(request: &VerifiedChallenge, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    for line in &request.claims.summary.lines {
        let text = if line.label.is_empty() { line.value.clone() } else { format!("{}: {}", line.label, line.value) };
        let chars: Vec<char> = text.chars().collect();
        if chars.is_empty() {
            rows.push(String::new());
        }
        for chunk in chars.chunks(width) {
            rows.push(chunk.iter().collect());
        }
    }
    rows
}

fn connection_line(app: &App) -> Line<'static> {
    let (text, color) = match &app.connection {
        Connection::Connecting => ("connecting…".to_owned(), Color::Yellow),
        Connection::Connected => ("connected".to_owned(), Color::Green),
        Connection::Disconnected(why) => (format!("disconnected: {why}"), Color::Yellow),
        Connection::Refused(why) => (format!("refused: {why}"), Color::Red),
    };
    Line::from(vec![
        Span::styled("wysiwys-confirm ", Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!("{}  ", app.who)),
        Span::styled(text, Style::default().fg(color)),
    ])
}

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!("Terminal too small: enlarge it to at least {MIN_WIDTH}×{MIN_HEIGHT}.");
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(5), Constraint::Length(2)]).areas(area);
    frame.render_widget(Paragraph::new(connection_line(app)), header);
    let now = app.now;
    if let Screen::Request(s) = &mut app.screen {
        draw_request(frame, body, s, now);
    }
    let blocked = app.approve_blocked();
    let keys = match &mut app.screen {
        Screen::Waiting => {
            let mut lines = vec![Line::from("Waiting for sign requests…")];
            if let Some(last) = &app.last_outcome {
                lines.push(Line::from(""));
                lines.push(Line::from(format!("Last: {last}")));
            }
            if let Some(notice) = &app.last_notice {
                lines.push(Line::from(""));
                lines.push(Line::styled(format!("Notice: {notice}"), Style::default().fg(Color::Yellow)));
            }
            frame.render_widget(Paragraph::new(lines).block(Block::default().borders(Borders::ALL)), body);
            "q quit".to_owned()
        }
        Screen::Pairing { request, confirming_not_me } => {
            let style = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
            let lines: Vec<Line> = pairing_lines(request, now)
                .into_iter()
                .enumerate()
                .map(|(i, l)| if i == 0 { Line::styled(l, style) } else { Line::from(l) })
                .collect();
            let block = Block::default().borders(Borders::ALL).border_style(style).title(" Pairing request ");
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), body);
            if *confirming_not_me {
                "Really \"not me\"? This refuses the device and locks pairing and signing.   y yes   any other key: no"
                    .to_owned()
            } else if now >= request.claims.exp {
                "expired   d dismiss   q quit".to_owned()
            } else {
                "a Approve new device   r Reject   n Not me   q quit".to_owned()
            }
        }
        Screen::Sending { title, decision } => {
            let text = format!("Sending {decision:?} for “{title}”…");
            frame.render_widget(Paragraph::new(text).block(Block::default().borders(Borders::ALL)), body);
            "q quit".to_owned()
        }
        Screen::Warning { code, reason } => {
            let style = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
            let lines = vec![
                Line::styled("ATTACK WARNING", style),
                Line::from(""),
                Line::from("A sign request failed verification and cannot be approved."),
                Line::from(format!("Reason: {reason} ({code})")),
                Line::from(""),
                Line::from("Someone may be trying to make you sign something you did not see."),
            ];
            let block = Block::default().borders(Borders::ALL).border_style(style).title(" Not trustworthy ");
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), body);
            "d dismiss   q quit".to_owned()
        }
        Screen::Request(s) => {
            if s.confirming_not_me {
                "Really \"not me\"? This locks signing until you log in again.   y yes   any other key: no".to_owned()
            } else {
                let approve = match blocked {
                    None => "a Approve".to_owned(),
                    Some(why) => format!("(Approve: {why})"),
                };
                format!("{approve}   r Reject   n Not me   ↑↓ PgUp PgDn scroll   q quit")
            }
        }
    };
    frame.render_widget(Paragraph::new(keys).wrap(Wrap { trim: true }), footer);
}

fn draw_request(frame: &mut Frame, area: Rect, s: &mut Showing, now: i64) {
    let c = &s.request.claims;
    let left = (c.exp - now).max(0);
    let [head, code, summary] =
        Layout::vertical([Constraint::Length(3), Constraint::Length(7), Constraint::Min(3)]).areas(area);
    let head_lines = vec![
        Line::from(vec![
            Span::raw("From "),
            Span::styled(c.rp.clone(), Style::default().add_modifier(Modifier::BOLD)),
            Span::raw(format!(" at {}", c.iss)),
        ]),
        Line::styled(c.summary.title.clone(), Style::default().add_modifier(Modifier::BOLD)),
        Line::from(format!("Time left: {left} s")),
    ];
    frame.render_widget(Paragraph::new(head_lines), head);
    let mut code_lines: Vec<Line> =
        vec![Line::from(format!("Verification code {} — the browser must show the same", s.request.verification_code))];
    code_lines.extend(
        big_digits(&s.request.verification_code)
            .into_iter()
            .map(|row| Line::styled(row, Style::default().fg(Color::Cyan))),
    );
    frame.render_widget(Paragraph::new(code_lines), code);

    let inner_width = summary.width.saturating_sub(2) as usize;
    let inner_height = summary.height.saturating_sub(2) as usize;
    let rows = summary_rows(&s.request, inner_width);
    s.max_scroll = rows.len().saturating_sub(inner_height);
    s.scroll = s.scroll.min(s.max_scroll);
    if s.scroll >= s.max_scroll {
        s.seen_end = true;
    }
    let visible: Vec<Line> = rows.iter().skip(s.scroll).take(inner_height).map(|r| Line::from(r.clone())).collect();
    let position = if s.max_scroll == 0 {
        " Summary (all shown) ".to_owned()
    } else {
        format!(" Summary {}/{} ", (s.scroll + inner_height).min(rows.len()), rows.len())
    };
    frame.render_widget(Paragraph::new(visible).block(Block::default().borders(Borders::ALL).title(position)), summary);
}

#[cfg(test)]
mod tests;
