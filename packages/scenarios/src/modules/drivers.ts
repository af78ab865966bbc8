/** Hardware drivers: board support, power supplies, isolation monitors, serial hub, meters. */
import { fn, type ModuleSpec } from './spec.ts';

const phyVerso: ModuleSpec = {
  type: 'PhyVersoBSP',
  role: 'bsp',
  dir: 'HardwareDrivers/EVSE/PhyVersoBSP',
  extraFiles: ['manifest.yaml', 'phyverso_mcu_comms/protobuf/phyverso.proto'],
  functions: [
    fn({
      name: 'handle_allow_power_on',
      file: 'connector_1/evse_board_supportImpl.cpp',
      signature:
        'void evse_board_supportImpl::handle_allow_power_on(types::evse_board_support::PowerOnOff& value) {',
      line: 96,
      tags: ['contactor', 'allow_power_on'],
      body: [
        '    std::scoped_lock lock(mod->serial_mutex);',
        '    mod->serial.allow_power_on(1, value.allow_power_on);',
        '    if (not value.allow_power_on) {',
        '        wait_for_relay_feedback(false, 200ms);',
        '    }',
      ],
      regressions: [
        {
          line: 3,
          to: ['        // relay feedback is reported asynchronously by the MCU'],
          message: 'PhyVersoBSP: do not block on relay feedback when switching off',
        },
      ],
      benign: [
        {
          line: 0,
          to: ['    std::scoped_lock lock(mod->serial_mutex); // MCU link is not thread safe'],
          message: 'PhyVersoBSP: comment serial locking',
        },
      ],
    }),
    fn({
      name: 'evSerial::read_thread',
      file: 'phyverso_mcu_comms/evSerial.cpp',
      signature: 'void evSerial::read_thread() {',
      line: 211,
      tags: ['uart', 'link'],
      body: [
        '    uint8_t buf[2048];',
        '    while (not read_thread_handle.shouldExit()) {',
        '        int n = read(fd, buf, sizeof buf);',
        '        if (n > 0) {',
        '            handle_packet(buf, n);',
        '            last_keep_alive_lo_timestamp = date::utc_clock::now();',
        '        }',
      ],
      regressions: [
        {
          line: 5,
          to: [
            '            if (is_keep_alive(buf, n)) last_keep_alive_lo_timestamp = date::utc_clock::now();',
          ],
          message: 'PhyVersoBSP: only keep-alive packets refresh the link timer',
        },
      ],
      benign: [
        {
          line: 0,
          to: ['    uint8_t buf[4096];'],
          message: 'PhyVersoBSP: larger UART read buffer',
        },
      ],
    }),
    fn({
      name: 'handle_pwm_on',
      file: 'connector_1/evse_board_supportImpl.cpp',
      signature: 'void evse_board_supportImpl::handle_pwm_on(double& value) {',
      line: 71,
      tags: ['pwm'],
      body: [
        '    if (value >= 0 && value <= 100.) {',
        '        mod->serial.set_pwm(1, value * 100);',
        '    }',
      ],
      regressions: [],
      benign: [
        {
          line: 1,
          to: ['        mod->serial.set_pwm(1, static_cast<uint32_t>(value * 100));'],
          message: 'PhyVersoBSP: explicit PWM cast',
        },
      ],
    }),
  ],
};

const yeti: ModuleSpec = {
  type: 'YetiDriver',
  role: 'bsp',
  dir: 'HardwareDrivers/EVSE/YetiDriver',
  extraFiles: ['manifest.yaml', 'yeti_comms/protobuf/yeti.proto'],
  functions: [
    fn({
      name: 'evSerial::reset',
      file: 'yeti_comms/evSerial.cpp',
      signature: 'bool evSerial::reset(const int reset_pin) {',
      line: 388,
      tags: ['uart', 'link', 'firmware'],
      body: [
        '    reset_done_flag = false;',
        '    forced_reset = true;',
        '    if (reset_pin > 0) {',
        '        gpio_pulse(reset_pin, 10ms);',
        '    }',
        '    // wait for reset done message from Yeti',
        '    return wait_for_reset_done(std::chrono::seconds(1));',
      ],
      regressions: [
        {
          line: 6,
          to: ['    return wait_for_reset_done(std::chrono::milliseconds(100));'],
          message: 'YetiDriver: faster reset handshake',
        },
      ],
      benign: [
        {
          line: 5,
          to: ['    // Yeti answers with ResetDone once its bootloader has handed over'],
          message: 'YetiDriver: explain reset handshake',
        },
      ],
    }),
    fn({
      name: 'handle_allow_power_on',
      file: 'board_support/evse_board_supportImpl.cpp',
      signature:
        'void evse_board_supportImpl::handle_allow_power_on(types::evse_board_support::PowerOnOff& value) {',
      line: 121,
      tags: ['contactor', 'allow_power_on'],
      body: [
        '    mod->serial.allowPowerOn(value.allow_power_on);',
        '    last_allow_power_on = value.allow_power_on;',
      ],
      regressions: [
        {
          line: 0,
          to: [
            '    if (value.allow_power_on != last_allow_power_on) mod->serial.allowPowerOn(value.allow_power_on);',
          ],
          message: 'YetiDriver: skip redundant allowPowerOn commands',
        },
      ],
      benign: [
        {
          line: 1,
          to: ['    last_allow_power_on = value.allow_power_on; // for telemetry'],
          message: 'YetiDriver: comment',
        },
      ],
    }),
  ],
};

const umwc: ModuleSpec = {
  type: 'MicroMegaWattBSP',
  role: 'bsp',
  dir: 'HardwareDrivers/EVSE/MicroMegaWattBSP',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'handle_allow_power_on',
      file: 'board_support/evse_board_supportImpl.cpp',
      signature:
        'void evse_board_supportImpl::handle_allow_power_on(types::evse_board_support::PowerOnOff& value) {',
      line: 88,
      tags: ['contactor', 'allow_power_on'],
      body: [
        '    mod->serial.setOutputVoltageCurrent(0, 0);',
        '    mod->serial.allowPowerOn(value.allow_power_on);',
        '    relays_closed = value.allow_power_on;',
      ],
      regressions: [
        {
          line: 0,
          to: ['    // output is ramped down by the power supply'],
          message: 'MicroMegaWattBSP: rely on PSU ramp-down before opening relays',
        },
      ],
      benign: [
        {
          line: 2,
          to: ['    relays_closed = value.allow_power_on; // mirrored in telemetry'],
          message: 'MicroMegaWattBSP: comment',
        },
      ],
    }),
    fn({
      name: 'evSerial::read_thread',
      file: 'umwc_comms/evSerial.cpp',
      signature: 'void evSerial::read_thread() {',
      line: 190,
      tags: ['uart', 'link'],
      body: [
        '    while (not read_thread_handle.shouldExit()) {',
        '        int n = read(fd, buf, sizeof buf);',
        '        if (n > 0) handle_packet(buf, n);',
        '    }',
      ],
      regressions: [
        {
          line: 2,
          to: ['        if (n > 4) handle_packet(buf, n);'],
          message: 'MicroMegaWattBSP: ignore runt packets',
        },
      ],
      benign: [],
    }),
  ],
};

const canPsu = (type: string, file: string, cls: string): ModuleSpec => ({
  type,
  role: 'powersupply_dc',
  dir: `HardwareDrivers/PowerSupplies/${type}`,
  extraFiles: ['manifest.yaml', 'main/power_supply_DCImpl.hpp'],
  functions: [
    fn({
      name: `${cls}::rx_handler`,
      file,
      signature: `void ${cls}::rx_handler(uint32_t can_id, const std::vector<uint8_t>& payload) {`,
      line: 142,
      tags: ['can', 'measurement'],
      body: [
        '    if ((can_id & 0x00FF0000) != STATUS_FRAME_MASK) {',
        '        return;',
        '    }',
        '    const auto module = can_id & 0xFF;',
        '    telemetry[module].voltage = from_be16(payload, 0) * 0.1f;',
        '    telemetry[module].current = from_be16(payload, 2) * 0.01f;',
        '    last_rx[module] = std::chrono::steady_clock::now();',
      ],
      regressions: [
        {
          line: 0,
          to: ['    if ((can_id & 0x00FF0000) != STATUS_FRAME_MASK or payload.size() != 8) {'],
          message: `${type}: drop short CAN status frames`,
        },
        {
          line: 5,
          to: ['    telemetry[module].current = from_be16(payload, 2) * 0.1f;'],
          message: `${type}: fix current scaling for 30 kW modules`,
        },
      ],
      benign: [
        {
          line: 3,
          to: ['    const auto module = can_id & 0xFF; // module address from DIP switches'],
          message: `${type}: comment module addressing`,
        },
      ],
    }),
    fn({
      name: `${cls}::open_device`,
      file,
      signature: `bool ${cls}::open_device(const std::string& dev) {`,
      line: 58,
      tags: ['can', 'open'],
      body: [
        '    can_fd = socket(PF_CAN, SOCK_RAW, CAN_RAW);',
        '    struct ifreq ifr {};',
        '    strncpy(ifr.ifr_name, dev.c_str(), IFNAMSIZ - 1);',
        '    ioctl(can_fd, SIOCGIFINDEX, &ifr);',
        '    setsockopt(can_fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &err_mask, sizeof(err_mask));',
      ],
      regressions: [
        {
          line: 4,
          to: ['    // error frames are polled from the netlink socket'],
          message: `${type}: stop subscribing to CAN error frames`,
        },
      ],
      benign: [],
    }),
    fn({
      name: 'handle_setExportVoltageCurrent',
      file: 'main/power_supply_DCImpl.cpp',
      signature:
        'void power_supply_DCImpl::handle_setExportVoltageCurrent(double& voltage, double& current) {',
      line: 77,
      tags: ['setpoint'],
      body: [
        '    const auto v = std::clamp(voltage, config.min_voltage, config.max_voltage);',
        '    const auto i = std::clamp(current, 0., config.max_current);',
        '    can_broadcast_setpoint(v, i / num_modules);',
      ],
      regressions: [
        {
          line: 2,
          to: ['    can_broadcast_setpoint(v, i);'],
          message: `${type}: send the total current setpoint to the module group`,
        },
      ],
      benign: [
        {
          line: 0,
          to: ['    const auto v = std::clamp(voltage, config.min_voltage, config.max_voltage); // V'],
          message: `${type}: units in comments`,
        },
      ],
    }),
  ],
});

const imd = (type: string): ModuleSpec => ({
  type,
  role: 'imd',
  dir: `HardwareDrivers/IsolationMonitors/${type}`,
  extraFiles: ['manifest.yaml', 'main/isolation_monitorImpl.hpp'],
  functions: [
    fn({
      name: 'handle_start_self_test',
      file: 'main/isolation_monitorImpl.cpp',
      signature: 'void isolation_monitorImpl::handle_start_self_test(double& test_voltage_V) {',
      line: 140,
      tags: ['self_test'],
      body: [
        '    self_test_running = true;',
        '    write_register(REG_SELF_TEST, 1);',
        '    self_test_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(config.self_test_timeout_s);',
      ],
      regressions: [
        {
          line: 2,
          to: [
            '    self_test_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.self_test_timeout_s);',
          ],
          message: `${type}: self test timeout in ms`,
        },
      ],
      benign: [
        {
          line: 0,
          to: ['    self_test_running = true; // cleared by the read loop'],
          message: `${type}: comment self test flag`,
        },
      ],
    }),
    fn({
      name: 'handle_start',
      file: 'main/isolation_monitorImpl.cpp',
      signature: 'void isolation_monitorImpl::handle_start() {',
      line: 101,
      tags: ['measurement'],
      body: [
        '    write_register(REG_MEASUREMENT_MODE, MODE_CONTINUOUS);',
        '    publish_enabled = true;',
        '    resistance_threshold_kohm = config.threshold_kohm;',
      ],
      regressions: [
        {
          line: 1,
          to: [
            '    publish_enabled = true;',
            '    settle_samples_after_start = 0; // publish from the first sample',
          ],
          message: `${type}: publish isolation values immediately after start`,
        },
      ],
      benign: [],
    }),
  ],
});

const commHub: ModuleSpec = {
  type: 'SerialCommHub',
  role: 'comm_hub',
  dir: 'Misc/SerialCommHub',
  extraFiles: ['manifest.yaml', 'tiny_modbus_rtu.hpp'],
  functions: [
    fn({
      name: 'TinyModbusRTU::txrx',
      file: 'tiny_modbus_rtu.cpp',
      signature:
        'std::vector<uint16_t> TinyModbusRTU::txrx(uint8_t device_address, FunctionCode function, uint16_t first_register_address,',
      line: 268,
      tags: ['modbus', 'crc', 'timeout'],
      body: [
        '    for (int retry = 0; retry < max_retries; retry++) {',
        '        tx(req);',
        '        auto res = rx(initial_timeout, within_message_timeout);',
        '        if (res.size() >= 5 and check_crc(res)) {',
        '            return decode_reply(res, function);',
        '        }',
        '        EVLOG_warning << "Modbus CRC or length error, retry " << retry;',
        '    }',
      ],
      regressions: [
        {
          line: 3,
          to: ['        if (res.size() >= 5 and check_crc(res, true)) {'],
          message: 'SerialCommHub: check CRC over the full frame including padding',
        },
        {
          line: 2,
          to: ['        auto res = rx(initial_timeout / 10, within_message_timeout);'],
          message: 'SerialCommHub: reduce first-byte timeout to speed up polling',
        },
      ],
      benign: [
        {
          line: 6,
          to: ['        EVLOG_warning << "Modbus reply invalid (CRC/length), retry " << retry;'],
          message: 'SerialCommHub: clearer retry log',
        },
      ],
    }),
    fn({
      name: 'handle_modbus_read_holding_registers',
      file: 'main/serial_communication_hubImpl.cpp',
      signature:
        'types::serial_comm_hub_requests::Result serial_communication_hubImpl::handle_modbus_read_holding_registers(',
      line: 64,
      tags: ['modbus'],
      body: [
        '    std::scoped_lock lock(serial_mutex);',
        '    auto r = modbus.txrx(target_device_id, tiny_modbus::FunctionCode::READ_MULTIPLE_HOLDING_REGISTERS,',
        '                         first_register_address, num_registers_to_read, config.max_packet_size);',
      ],
      regressions: [
        {
          line: 0,
          to: ['    // serial access is serialised by the caller'],
          message: 'SerialCommHub: remove redundant lock',
        },
      ],
      benign: [],
    }),
  ],
};

const lem: ModuleSpec = {
  type: 'LemDCBM400600',
  role: 'powermeter_dc',
  dir: 'HardwareDrivers/PowerMeters/LemDCBM400600',
  extraFiles: ['manifest.yaml', 'main/http_client.cpp'],
  functions: [
    fn({
      name: 'request_device_to_start_transaction',
      file: 'main/lem_dcbm_400600_controller.cpp',
      signature:
        'void LemDCBM400600Controller::request_device_to_start_transaction(const types::powermeter::TransactionReq& value) {',
      line: 86,
      tags: ['start_transaction'],
      body: [
        '    const std::string payload = this->transaction_start_request_to_dcbm_payload(value);',
        '    auto response = this->http_client->post("/v1/legal", payload);',
        '    if (response.status_code != 201) {',
        '        throw UnexpectedDCBMResponseCode("/v1/legal", 201, response);',
        '    }',
      ],
      regressions: [
        {
          line: 0,
          to: [
            '    const std::string payload = this->transaction_start_request_to_dcbm_payload(value, /*include_tariff=*/true);',
          ],
          message: 'LemDCBM400600: send tariff text with the legal start request',
        },
      ],
      benign: [
        {
          line: 3,
          to: ['        throw UnexpectedDCBMResponseCode("/v1/legal", 201, response); // see DCBM API 2.4'],
          message: 'LemDCBM400600: reference API doc',
        },
      ],
    }),
    fn({
      name: 'fetch_ocmf_result',
      file: 'main/lem_dcbm_400600_controller.cpp',
      signature:
        'std::string LemDCBM400600Controller::fetch_ocmf_result(const std::string& transaction_id) {',
      line: 160,
      tags: ['stop_transaction'],
      body: [
        '    auto response = this->http_client->get("/v1/ocmf/" + transaction_id);',
        '    if (response.status_code != 200) {',
        '        throw UnexpectedDCBMResponseCode("/v1/ocmf", 200, response);',
        '    }',
        '    return response.body;',
      ],
      regressions: [],
      benign: [
        {
          line: 4,
          to: ['    return response.body; // signed OCMF document'],
          message: 'LemDCBM400600: comment',
        },
      ],
    }),
  ],
};

const iem: ModuleSpec = {
  type: 'IsabellenhuetteIemDcr',
  role: 'powermeter_dc',
  dir: 'HardwareDrivers/PowerMeters/IsabellenhuetteIemDcr',
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'handle_start_transaction',
      file: 'main/powermeterImpl.cpp',
      signature:
        'types::powermeter::TransactionStartResponse powermeterImpl::handle_start_transaction(types::powermeter::TransactionReq& value) {',
      line: 112,
      tags: ['start_transaction'],
      body: [
        '    auto res = controller->post_user_data(value);',
        '    if (not res.ok) {',
        '        return {types::powermeter::TransactionRequestStatus::UNEXPECTED_ERROR, res.error};',
        '    }',
        '    return controller->start_transaction();',
      ],
      regressions: [
        {
          line: 0,
          to: ['    auto res = controller->post_user_data(value, config.ocmf_identification_level);'],
          message: 'IsabellenhuetteIemDcr: pass identification level to user data',
        },
      ],
      benign: [],
    }),
  ],
};

const acMeter = (type: string): ModuleSpec => ({
  type,
  role: 'powermeter_ac',
  dir: `HardwareDrivers/PowerMeters/${type}`,
  extraFiles: ['manifest.yaml'],
  functions: [
    fn({
      name: 'read_powermeter_values',
      file: 'main/powermeterImpl.cpp',
      signature: 'void powermeterImpl::read_powermeter_values() {',
      line: 203,
      tags: ['read_values', 'stale'],
      body: [
        '    auto regs = read_register(config.energy_register, 4);',
        '    if (regs.empty()) {',
        '        raise_communication_fault();',
        '        return;',
        '    }',
        '    pm_last_values.energy_Wh_import.total = to_float(regs) * config.energy_scale;',
        '    publish_powermeter(pm_last_values);',
      ],
      regressions: [
        {
          line: 1,
          to: ['    if (regs.empty() and ++consecutive_failures > 30) {'],
          message: `${type}: tolerate transient read failures`,
        },
      ],
      benign: [
        {
          line: 6,
          to: ['    publish_powermeter(pm_last_values); // every config.update_interval ms'],
          message: `${type}: comment publish rate`,
        },
      ],
    }),
    fn({
      name: 'read_register',
      file: 'main/powermeterImpl.cpp',
      signature: 'std::vector<uint16_t> powermeterImpl::read_register(uint16_t address, uint16_t count) {',
      line: 160,
      tags: ['modbus'],
      body: [
        '    auto r = mod->r_serial_comm_hub->call_modbus_read_holding_registers(config.modbus_address, address, count);',
        '    if (r.status_code != types::serial_comm_hub_requests::StatusCodeEnum::Success) {',
        '        return {};',
        '    }',
        '    return r.value.value_or(std::vector<int>{});',
      ],
      regressions: [
        {
          line: 2,
          to: ['        return last_good_registers;'],
          message: `${type}: return last good registers on read failure`,
        },
      ],
      benign: [],
    }),
  ],
});

export const driverModules = { phyVerso, yeti, umwc, canPsu, imd, commHub, lem, iem, acMeter };
