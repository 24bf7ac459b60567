// Package stop owns a roadside stop: the licences scanned while one vehicle
// is pulled over, grouped into three slots (the driver's 从业资格证, the
// operator's 经营许可证, the vehicle's 道路运输证), and the cross-checks
// between them that no single code can make on its own:
//
//   - the vehicle's 业户名称 (or its holder) is the permit's 持证主体;
//   - the vehicle's 经营许可证号 is the permit's 证照编号;
//   - the vehicle's 车牌号码 is the plate the officer reads off the vehicle;
//   - every transport class of the vehicle's 经营范围 (危险货物, 旅客, 普通货物,
//     网约车, 巡游出租车) is in the permit's 经营范围;
//   - the driver's 从业资格类别 include the qualification that class needs
//     (危险货物 needs 道路危险货物运输驾驶员, 旅客 needs 道路旅客运输驾驶员, …).
//
// Findings are typed values (Warning), never strings, so the UI, records and
// reports can count and translate them. Only verified licence data is used:
// a code whose verification stopped before the schema step (no claims) is
// refused by Add. The package is pure: no clock, no I/O, no GUI.
package stop
