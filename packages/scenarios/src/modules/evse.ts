/** EvseManager: the charging state machine (modules/EVSE/EvseManager). */
import { fn, type ModuleSpec } from './spec.ts';

const evseManager: ModuleSpec = {
  type: 'EvseManager',
  role: 'evse_manager',
  dir: 'EVSE/EvseManager',
  extraFiles: ['IECStateMachine.cpp', 'SessionLog.cpp', 'manifest.yaml'],
  functions: [
    fn({
      name: 'Charger::run_state_machine',
      file: 'Charger.cpp',
      signature: 'void Charger::run_state_machine() {',
      line: 312,
      tags: ['state_machine', 'deadlock'],
      body: [
        '    std::scoped_lock lock(state_machine_mutex);',
        '    const auto time_in_current_state =',
        '        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -',
        '                                                              internal_context.current_state_started)',
        '            .count();',
        '    switch (shared_context.current_state) {',
        '    case EvseState::WaitingForAuthentication:',
        '        if (time_in_current_state > config_context.ac_enforce_hlc_timeout_ms) {',
        '            signal_hlc_error(types::iso15118::EvseError::Error_Malfunction);',
      ],
      regressions: [
        {
          line: 0,
          to: ['    std::scoped_lock lock(state_machine_mutex, shared_context.session_mutex);'],
          message: 'EvseManager: take the session mutex in the state machine loop to fix a data race',
        },
        {
          line: 7,
          to: ['        if (time_in_current_state > config_context.ac_enforce_hlc_timeout_ms / 1000) {'],
          message: 'EvseManager: use seconds for the HLC enforcement timeout',
        },
      ],
      benign: [
        {
          line: 1,
          to: ['    const auto time_in_current_state = // ms since the last transition'],
          message: 'EvseManager: comment the state timer',
        },
      ],
    }),
    fn({
      name: 'Charger::power_available',
      file: 'Charger.cpp',
      signature: 'bool Charger::power_available() {',
      line: 1874,
      tags: ['power_budget'],
      body: [
        '    if (shared_context.max_current_valid_until < date::utc_clock::now()) {',
        '        shared_context.max_current_import = 0.;',
        '        shared_context.max_current_export = 0.;',
        '        if (not internal_context.last_power_budget_expired_logged) {',
        '            EVLOG_warning << "Power budget expired, falling back to 0.";',
        '            internal_context.last_power_budget_expired_logged = true;',
        '        }',
        '    }',
        '    return (get_max_current_internal() > 5.9);',
      ],
      regressions: [
        {
          line: 8,
          to: ['    return (get_max_current_internal() >= 6.0 and not shared_context.paused_by_budget);'],
          message: 'EvseManager: stay paused while the budget is being renegotiated',
        },
      ],
      benign: [
        {
          line: 4,
          to: ['            EVLOG_warning << "Power budget expired, falling back to 0 A.";'],
          message: 'EvseManager: clearer power budget log line',
        },
      ],
    }),
    fn({
      name: 'EvseManager::cable_check',
      file: 'EvseManager.cpp',
      signature: 'void EvseManager::cable_check() {',
      line: 1402,
      tags: ['cable_check'],
      body: [
        '    if (not r_imd.empty()) {',
        '        r_imd[0]->call_start_self_test(config.cable_check_voltage_V);',
        '    }',
        '    if (not wait_powersupply_DC_voltage_reached(config.cable_check_voltage_V)) {',
        '        EVLOG_error << "Voltage did not rise to " << config.cable_check_voltage_V << " V within timeout";',
        '        fail_cable_check("Voltage did not rise");',
        '        return;',
        '    }',
      ],
      regressions: [
        {
          line: 3,
          to: ['    if (not wait_powersupply_DC_voltage_reached(config.cable_check_voltage_V, 2s)) {'],
          message: 'EvseManager: shorten cable check voltage wait to 2 s',
        },
      ],
      benign: [
        {
          line: 4,
          to: [
            '        EVLOG_error << "CableCheck: voltage did not reach " << config.cable_check_voltage_V << " V";',
          ],
          message: 'EvseManager: prefix cable check log lines',
        },
      ],
    }),
    fn({
      name: 'ErrorHandling::raise_inoperative_error',
      file: 'ErrorHandling.cpp',
      signature: 'void ErrorHandling::raise_inoperative_error(const Everest::error::Error& caused_by) {',
      line: 188,
      tags: ['inoperative'],
      body: [
        '    if (p_evse->error_state_monitor->is_error_active("evse_manager/Inoperative", "")) {',
        '        return;',
        '    }',
        '    Everest::error::Error error_object = p_evse->error_factory->create_error(',
        '        "evse_manager/Inoperative", "", caused_by.type, Everest::error::Severity::High);',
        '    p_evse->raise_error(error_object);',
      ],
      regressions: [
        {
          line: 0,
          to: [
            '    if (p_evse->error_state_monitor->is_error_active("evse_manager/Inoperative", "") or vendor_error) {',
          ],
          message: 'EvseManager: do not re-raise Inoperative for vendor errors',
        },
      ],
      benign: [
        {
          line: 5,
          to: ['    p_evse->raise_error(error_object); // cleared in clear_inoperative_error()'],
          message: 'EvseManager: document where Inoperative is cleared',
        },
      ],
    }),
    fn({
      name: 'Charger::check_soft_over_current',
      file: 'Charger.cpp',
      signature: 'void Charger::check_soft_over_current() {',
      line: 1503,
      tags: ['over_current'],
      body: [
        '    float limit = (shared_context.max_current * (1 + soft_over_current_tolerance_percent / 100.)) +',
        '                  soft_over_current_measurement_noise_A;',
        '    if (shared_context.current_drawn_by_vehicle[0] > limit) {',
        '        if (not internal_context.over_current) {',
        '            internal_context.over_current = true;',
        '            internal_context.last_over_current_event = std::chrono::steady_clock::now();',
        '        }',
      ],
      regressions: [
        {
          line: 1,
          to: ['                  0.;'],
          message: 'EvseManager: drop measurement noise allowance from soft over-current check',
        },
      ],
      benign: [
        {
          line: 2,
          to: ['    if (shared_context.current_drawn_by_vehicle[0] > limit) { // L1 only, see #1130'],
          message: 'EvseManager: note on single-phase over-current check',
        },
      ],
    }),
    fn({
      name: 'Charger::stop_transaction',
      file: 'Charger.cpp',
      signature: 'void Charger::stop_transaction() {',
      line: 1266,
      tags: ['stop_transaction'],
      body: [
        '    shared_context.transaction_active = false;',
        '    shared_context.last_stop_transaction_reason = types::evse_manager::StopTransactionReason::EVDisconnected;',
        '    signal_simple_event(types::evse_manager::SessionEventEnum::ChargingFinished);',
        '    signal_transaction_finished_event(shared_context.last_stop_transaction_reason,',
        '                                      shared_context.stop_transaction_id_token);',
      ],
      regressions: [
        {
          line: 0,
          to: ['    // transaction_active is cleared by the session handler'],
          message: 'EvseManager: let the session handler clear transaction_active',
        },
      ],
      benign: [
        {
          line: 2,
          to: [
            '    signal_simple_event(types::evse_manager::SessionEventEnum::ChargingFinished); // before TransactionFinished',
          ],
          message: 'EvseManager: comment event order',
        },
      ],
    }),
    fn({
      name: 'Charger::cleanup_transactions_on_startup',
      file: 'Charger.cpp',
      signature: 'void Charger::cleanup_transactions_on_startup() {',
      line: 1958,
      tags: ['startup'],
      body: [
        '    // See if we have an open transaction in persistent storage',
        '    auto session_id = store->call_load(evse_id + "_session");',
        '    if (std::holds_alternative<std::string>(session_id)) {',
        '        EVLOG_info << "Cleaning up transaction with UUID " << std::get<std::string>(session_id) << " on start up";',
        '        store->call_delete(evse_id + "_session");',
        '        signal_transaction_finished_event(types::evse_manager::StopTransactionReason::PowerLoss, std::nullopt);',
        '    }',
      ],
      regressions: [],
      benign: [
        {
          line: 3,
          to: [
            '        EVLOG_info << "Closing open transaction " << std::get<std::string>(session_id) << " (PowerLoss)";',
          ],
          message: 'EvseManager: shorter start-up cleanup log',
        },
      ],
    }),
  ],
};

export const evseModules = { evseManager };
